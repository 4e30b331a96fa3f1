package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
)

// orchestrator is a fake OrchestratorService: conversation "cnv_slow" answers with convEvents plan
// summaries "event 1"… 150 ms apart; "cnv_fail" fails after two events; "cnv_secret" may not be read;
// empty text is refused at once.
type orchestrator struct {
	orchestratorv1.UnimplementedOrchestratorServiceServer
	mu    sync.Mutex
	auth  []string // Authorization of each SendMessage
	sends int
}

const convEvents = 6

func (o *orchestrator) GetConversation(ctx context.Context, req *orchestratorv1.GetConversationRequest) (*orchestratorv1.GetConversationResponse, error) {
	switch req.ConversationId {
	case "cnv_secret":
		return nil, status.Error(codes.PermissionDenied, "you may not read this conversation")
	case "cnv_slow", "cnv_fail", "cnv_other":
		return &orchestratorv1.GetConversationResponse{Conversation: &orchestratorv1.Conversation{Id: req.ConversationId}}, nil
	}
	return nil, grpcx.NotFound("conversation", req.ConversationId)
}

func (o *orchestrator) SendMessage(req *orchestratorv1.SendMessageRequest, s orchestratorv1.OrchestratorService_SendMessageServer) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	o.mu.Lock()
	o.sends++
	o.auth = append(o.auth, strings.Join(md.Get("authorization"), ","))
	o.mu.Unlock()
	if strings.TrimSpace(req.Text) == "" {
		return grpcx.InvalidArgument("text", "must not be empty")
	}
	if req.ConversationId == "cnv_secret" {
		return status.Error(codes.PermissionDenied, "you may not write to this conversation")
	}
	n := convEvents
	if req.ConversationId == "cnv_fail" {
		n = 2
	}
	for i := 1; i <= n; i++ {
		ev := &orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: fmt.Sprintf("event %d", i)}}
		if i == n && req.ConversationId != "cnv_fail" {
			ev = &orchestratorv1.Event{Kind: &orchestratorv1.Event_Answer{Answer: &orchestratorv1.Answer{Text: fmt.Sprintf("event %d: %s (%d selections)", i, req.Text, len(req.Selections))}}}
		}
		if err := s.Send(&orchestratorv1.SendMessageResponse{Event: ev}); err != nil {
			return err
		}
		time.Sleep(150 * time.Millisecond)
	}
	if req.ConversationId == "cnv_fail" {
		return status.Error(codes.Internal, "the planner broke")
	}
	return nil
}

func convFixture(t *testing.T) (*fixture, *orchestrator) {
	t.Helper()
	o := &orchestrator{}
	s := grpc.NewServer()
	orchestratorv1.RegisterOrchestratorServiceServer(s, o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	f := newFixture(t, func(opts *Options) { opts.Backends[Orchestrator] = l.Addr().String() })
	return f, o
}

func startConvRun(t *testing.T, f *fixture, conv, body string) (string, *http.Response, []byte) {
	t.Helper()
	req := mustReq("POST", f.httpURL+"/v1/conversations/"+conv+"/runs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok-1")
	resp, b := do(t, req)
	var out struct{ RunID, ConversationID, EventsURL string }
	json.Unmarshal(b, &out)
	return out.RunID, resp, b
}

// eventText is the plan summary or answer text of an Event's JSON.
func eventText(t *testing.T, data string) string {
	t.Helper()
	var ev struct {
		PlanSummary string
		Answer      struct{ Text string }
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	if ev.PlanSummary != "" {
		return ev.PlanSummary
	}
	return ev.Answer.Text
}

// TestConversationSSEReconnect starts a message, drops the event stream after two events, and
// reconnects the way EventSource does (Last-Event-ID = the last id seen): together the connections
// deliver every event exactly once and in order (no duplicate, no gap), then "end". A client that
// comes back after the run ended gets only what it had not seen.
func TestConversationSSEReconnect(t *testing.T) {
	t.Parallel()
	f, orch := convFixture(t)
	runID, resp, b := startConvRun(t, f, "cnv_slow", `{"text":"why is churn high?","selections":[{"field":"Contract","values":["Month-to-month"]}]}`)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(runID, "run_") {
		t.Fatalf("start: %d %s", resp.StatusCode, b)
	}
	eventsURL := f.httpURL + "/v1/conversations/cnv_slow/runs/" + runID + "/events"
	if loc := resp.Header.Get("Location"); f.httpURL+loc != eventsURL {
		t.Errorf("Location %q", loc)
	}
	orch.mu.Lock()
	if len(orch.auth) != 1 || orch.auth[0] != "Bearer tok-1" {
		t.Errorf("SendMessage got Authorization %q, want the caller's bearer token", orch.auth)
	}
	orch.mu.Unlock()

	// First connection: read two events, then drop it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req := mustReq("GET", eventsURL, nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer tok-1")
	r1, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.StatusCode != 200 || r1.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", r1.StatusCode, r1.Header.Get("Content-Type"))
	}
	var ids, texts []string
	sc := bufio.NewScanner(r1.Body)
	cur := ""
	for sc.Scan() && len(ids) < 2 {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			cur = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && cur != "" {
			ids = append(ids, cur)
			texts = append(texts, eventText(t, v))
			cur = ""
		}
	}
	cancel()
	r1.Body.Close()
	if strings.Join(ids, ",") != "1,2" {
		t.Fatalf("first connection: ids %v", ids)
	}

	// Reconnect while the run goes on.
	req = mustReq("GET", eventsURL, nil)
	req.Header.Set("Authorization", "Bearer tok-1")
	req.Header.Set("Last-Event-ID", ids[len(ids)-1])
	evs, comments, code := readSSE(t, req)
	if code != 200 {
		t.Fatalf("reconnect: %d", code)
	}
	var kinds []string
	var end string
	for _, ev := range evs {
		kinds = append(kinds, ev.event)
		if ev.event == "conversation" {
			ids = append(ids, ev.id)
			texts = append(texts, eventText(t, ev.data))
		} else if ev.event == "end" {
			end = ev.data
		}
	}
	var wantIDs, wantTexts []string
	for i := 1; i <= convEvents; i++ {
		wantIDs = append(wantIDs, strconv.Itoa(i))
		wantTexts = append(wantTexts, fmt.Sprintf("event %d", i))
	}
	wantTexts[convEvents-1] = fmt.Sprintf("event %d: why is churn high? (1 selections)", convEvents)
	if strings.Join(ids, ",") != strings.Join(wantIDs, ",") || strings.Join(texts, "|") != strings.Join(wantTexts, "|") {
		t.Fatalf("ids %v texts %q: want each event once, in order", ids, texts)
	}
	if kinds[len(kinds)-1] != "end" || !strings.Contains(end, `"events":6`) || !strings.Contains(end, runID) {
		t.Fatalf("events %v, end %s", kinds, end)
	}
	if comments < 2 { // retry line's neighbour and keep-alives: heartbeat 50 ms, events 150 ms apart
		t.Errorf("%d comment lines: want keep-alives between slow events", comments)
	}

	// After the run ended: a client that had up to 4 gets 5, 6 and end (query parameter form).
	req = mustReq("GET", eventsURL+"?last_event_id=4", nil)
	req.Header.Set("Authorization", "Bearer tok-1")
	evs, _, _ = readSSE(t, req)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.event+":"+ev.id)
	}
	if strings.Join(got, ",") != "conversation:5,conversation:6,end:" {
		t.Fatalf("resume after the end: %v", got)
	}
	// One that had everything gets only end.
	req = mustReq("GET", eventsURL, nil)
	req.Header.Set("Authorization", "Bearer tok-1")
	req.Header.Set("Last-Event-ID", "6")
	if evs, _, _ = readSSE(t, req); len(evs) != 1 || evs[0].event != "end" {
		t.Fatalf("resume with everything seen: %+v", evs)
	}
	// An id past the end gets only end, which still counts the run's 6 events.
	req = mustReq("GET", eventsURL, nil)
	req.Header.Set("Authorization", "Bearer tok-1")
	req.Header.Set("Last-Event-ID", "1000")
	if evs, _, _ = readSSE(t, req); len(evs) != 1 || evs[0].event != "end" || !strings.Contains(evs[0].data, `"events":6`) {
		t.Fatalf("resume past the end: %+v", evs)
	}
	orch.mu.Lock()
	if orch.sends != 1 {
		t.Errorf("SendMessage ran %d times: reconnecting must not send the message again", orch.sends)
	}
	orch.mu.Unlock()
}

// TestConversationSSEErrors: refusals get their HTTP status and JSON body at once; a failure during
// the run is an "error" event after the events before it; unknown runs and other conversations' runs
// are 404; a malformed Last-Event-ID is 400.
func TestConversationSSEErrors(t *testing.T) {
	t.Parallel()
	f, _ := convFixture(t)
	for _, c := range []struct {
		name, conv, body string
		status           int
		code             codes.Code
		msg              string
	}{
		{"empty text", "cnv_slow", `{"text":"  "}`, 400, codes.InvalidArgument, "text"},
		{"not JSON", "cnv_slow", `{"text":`, 400, codes.InvalidArgument, "SendMessageRequest"},
		{"no access", "cnv_secret", `{"text":"hi"}`, 403, codes.PermissionDenied, "may not write"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, resp, b := startConvRun(t, f, c.conv, c.body)
			checkStatus(t, resp, b, c.status, c.code, c.msg)
		})
	}

	runID, resp, b := startConvRun(t, f, "cnv_fail", `{"text":"hi"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("start: %d %s", resp.StatusCode, b)
	}
	url := f.httpURL + "/v1/conversations/cnv_fail/runs/" + runID + "/events"
	req := mustReq("GET", url, nil)
	evs, _, _ := readSSE(t, req)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.event+":"+ev.id)
	}
	if strings.Join(got, ",") != "conversation:1,conversation:2,error:" || !strings.Contains(evs[2].data, "the planner broke") {
		t.Fatalf("failing run: %v %+v", got, evs)
	}

	for _, c := range []struct {
		name, url string
		status    int
		code      codes.Code
		msg       string
	}{
		{"unknown run", f.httpURL + "/v1/conversations/cnv_fail/runs/run_nope/events", 404, codes.NotFound, "GET /v1/conversations/cnv_fail"},
		{"run of another conversation", f.httpURL + "/v1/conversations/cnv_other/runs/" + runID + "/events", 404, codes.NotFound, "not on this gateway"},
		{"conversation not readable", f.httpURL + "/v1/conversations/cnv_secret/runs/" + runID + "/events", 403, codes.PermissionDenied, "may not read"},
		{"malformed Last-Event-ID", url + "?last_event_id=x", 400, codes.InvalidArgument, "Last-Event-ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, mustReq("GET", c.url, nil))
			checkStatus(t, resp, b, c.status, c.code, c.msg)
		})
	}
}

// TestConversationRunsGuarded: starting a run is a write like any other — a cookie-authenticated
// one needs the CSRF header (403 without), and its body is bounded by --max-body-bytes (413).
func TestConversationRunsGuarded(t *testing.T) {
	t.Parallel()
	f, orch := convFixture(t)
	req := mustReq("POST", f.httpURL+"/v1/conversations/cnv_slow/runs", strings.NewReader(`{"text":"hi"}`))
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-cookie"})
	req.AddCookie(&http.Cookie{Name: CSRFCookie, Value: "c1"})
	resp, b := do(t, req)
	checkStatus(t, resp, b, 403, codes.PermissionDenied, CSRFHeader)

	big := `{"text":"` + strings.Repeat("x", 2<<10) + `"}` // the fixture's limit is 1 KiB
	req = mustReq("POST", f.httpURL+"/v1/conversations/cnv_slow/runs", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer tok-1")
	resp, b = do(t, req)
	checkStatus(t, resp, b, 413, codes.ResourceExhausted, "--max-body-bytes")

	// With the header the cookie's token reaches SendMessage as the bearer token.
	req = mustReq("POST", f.httpURL+"/v1/conversations/cnv_slow/runs", strings.NewReader(`{"text":"hi"}`))
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok-cookie"})
	req.AddCookie(&http.Cookie{Name: CSRFCookie, Value: "c1"})
	req.Header.Set(CSRFHeader, "c1")
	if resp, b = do(t, req); resp.StatusCode != 201 {
		t.Fatalf("with the CSRF header: %d %s", resp.StatusCode, b)
	}
	orch.mu.Lock()
	defer orch.mu.Unlock()
	if orch.sends != 1 || orch.auth[0] != "Bearer tok-cookie" {
		t.Errorf("SendMessage ran %d times with %q: want once, with the cookie's token", orch.sends, orch.auth)
	}
}
