package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// TestEventsReconnect drops an event stream after its first event and reconnects the way a browser's
// EventSource does (Last-Event-ID = the last id seen): together the two connections deliver every
// event exactly once, in order, then "end".
func TestEventsReconnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req := mustReq("GET", f.httpURL+"/v1/jobs/slow/events", nil).WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var ids []string
	lastID := ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			lastID = v
			ids = append(ids, v)
		}
		if line == "" && lastID != "" {
			break // one whole event: drop the connection
		}
	}
	cancel()
	resp.Body.Close()
	if lastID != "1" {
		t.Fatalf("first connection: ids %v", ids)
	}

	req = mustReq("GET", f.httpURL+"/v1/jobs/slow/events", nil)
	req.Header.Set("Last-Event-ID", lastID)
	evs, _, status := readSSE(t, req)
	if status != 200 {
		t.Fatalf("reconnect: status %d", status)
	}
	var kinds []string
	for _, ev := range evs {
		if ev.id != "" {
			ids = append(ids, ev.id)
		}
		kinds = append(kinds, ev.event)
	}
	if strings.Join(ids, ",") != "1,2,3" || strings.Join(kinds, ",") != "job,job,end" {
		t.Fatalf("ids %v, events %v: want each of 1,2,3 once, then end", ids, kinds)
	}

	cases := []struct{ name, header, query string }{
		{"header", "abc", ""},
		{"query parameter", "", "?last_event_id=-1"},
	}
	for _, c := range cases {
		t.Run("malformed Last-Event-ID in "+c.name, func(t *testing.T) {
			req := mustReq("GET", f.httpURL+"/v1/jobs/slow/events"+c.query, nil)
			if c.header != "" {
				req.Header.Set("Last-Event-ID", c.header)
			}
			resp, b := do(t, req)
			checkStatus(t, resp, b, 400, codes.InvalidArgument, "Last-Event-ID")
		})
	}
}
