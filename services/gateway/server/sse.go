package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc/status"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
)

// events serves GET /v1/jobs/{job_id}/events: JobService.WatchJob as Server-Sent Events.
//
//	id: <sequence>
//	event: job
//	data: <JobEvent as JSON>
//
// A comment line goes out every Heartbeat so proxies keep an idle stream open. Last-Event-ID (the
// header a browser sends when it reconnects, or the last_event_id query parameter) skips the events
// with a sequence up to it. When the job ends the stream sends `event: end` (data: job ID and final
// state) and closes, so an EventSource should close on "end" instead of reconnecting. A failure
// after the stream started is sent as `event: error` with a google.rpc.Status JSON.
func (g *gateway) events(w http.ResponseWriter, r *http.Request) {
	jobID := r.PathValue("job_id")
	var after uint64
	skip := false
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			g.invalid(w, r, "Last-Event-ID", "must be an event sequence number")
			return
		}
		after, skip = n, true
	}
	ctx, err := g.annotate(r, jobsv1.JobService_WatchJob_FullMethodName, EventsPath)
	if err != nil {
		g.writeStatus(w, r, status.Convert(err), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := jobsv1.NewJobServiceClient(g.b.conn(Ingestion))
	// Check the job (existence, access) first, so such errors get their HTTP status.
	job, err := client.GetJob(ctx, &jobsv1.GetJobRequest{JobId: jobID})
	if err != nil {
		st := status.Convert(backendError(Ingestion, err))
		g.writeStatus(w, r, st, httpStatus(st.Code()))
		return
	}
	stream, err := client.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: jobID})
	if err != nil {
		st := status.Convert(backendError(Ingestion, err))
		g.writeStatus(w, r, st, httpStatus(st.Code()))
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(s string) bool {
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n\n") {
		return
	}

	type result struct {
		ev  *jobsv1.JobEvent
		err error
	}
	results := make(chan result)
	go func() { // ends when the stream does or when the handler returns (cancel)
		for {
			m, err := stream.Recv()
			select {
			case results <- result{m.GetEvent(), err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	state := job.GetJob().GetState()
	tick := time.NewTicker(g.opts.Heartbeat)
	defer tick.Stop()
	for {
		var ok bool
		select {
		case <-ctx.Done():
			return
		case <-g.ctx.Done():
			return // the gateway stops; the browser reconnects elsewhere with Last-Event-ID
		case <-tick.C:
			ok = send(": keep-alive\n\n")
		case res := <-results:
			switch {
			case errors.Is(res.err, io.EOF):
				end, _ := json.Marshal(map[string]string{"jobId": jobID, "state": state.String()})
				send("event: end\ndata: " + string(end) + "\n\n")
				return
			case res.err != nil:
				if ctx.Err() == nil {
					b, _ := statusJSON(status.Convert(res.err))
					send("event: error\ndata: " + string(b) + "\n\n")
				}
				return
			case res.ev == nil:
				ok = true
			default:
				state = res.ev.GetState()
				if skip && res.ev.GetSequence() <= after {
					ok = true
					break
				}
				b, err := g.json.Marshal(res.ev)
				if err != nil {
					return
				}
				ok = send(fmt.Sprintf("id: %d\nevent: job\ndata: %s\n\n", res.ev.GetSequence(), b))
			}
		}
		if !ok {
			return
		}
	}
}
