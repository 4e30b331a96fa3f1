package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// Conversation streams as Server-Sent Events.
//
// POST /v1/conversations/{conversation_id}/runs takes the body of SendMessage ({"text", "selections"})
// and starts the message in the gateway: OrchestratorService.SendMessage runs with the caller's
// credentials, detached from the request, and every event it streams is kept in order. The answer is
// 201 {"runId", "conversationId", "eventsUrl"}, or the JSON error of the call when SendMessage refuses
// the message at once (bad text, unknown column in a selection, no access…).
//
// GET /v1/conversations/{conversation_id}/runs/{run_id}/events sends the run's events as
//
//	id: <n>            1 for the first event of the run, +1 each
//	event: conversation
//	data: <Event as JSON>
//
// with `: keep-alive` comments every Heartbeat, then `event: end` ({"conversationId","runId",
// "events"}) once the message is answered, or `event: error` (a google.rpc.Status) when SendMessage
// failed. Last-Event-ID (or ?last_event_id=) skips the events up to that id, so a reconnecting
// EventSource gets each event exactly once; the run goes on while no one is connected. n is also the
// event's position in the stored assistant message (GET /v1/conversations/{id}), which is where the
// events are once the gateway has let go of the run (RunRetention after it ended, or a restart).
const (
	RunsPath      = "/v1/conversations/{conversation_id}/runs"
	RunEventsPath = "/v1/conversations/{conversation_id}/runs/{run_id}/events"
	// RunRetention is how long a finished run's events stay in the gateway for reconnecting clients.
	RunRetention = 10 * time.Minute
	// MaxRunDuration bounds a message's run in the gateway.
	MaxRunDuration = 30 * time.Minute
	// maxRuns bounds the runs kept in memory (running and finished).
	maxRuns = 512
	// firstEventWait is how long starting a run waits for SendMessage to accept or refuse the message,
	// so a refusal gets its HTTP status instead of arriving on the event stream.
	firstEventWait = 5 * time.Second
)

type run struct {
	id, conversationID string

	mu      sync.Mutex
	events  [][]byte // Event JSON, in order
	done    bool
	err     *status.Status
	ended   time.Time
	changed chan struct{} // closed and replaced on each change
}

func (r *run) add(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, b)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *run) finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = status.Convert(err)
	}
	r.done = true
	r.ended = time.Now()
	close(r.changed)
	r.changed = make(chan struct{})
}

// since returns the events after the first n, whether the run is over (with its error), and a channel
// closed on the next change.
func (r *run) since(n int) ([][]byte, bool, *status.Status, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	if n < len(r.events) {
		out = r.events[n:len(r.events):len(r.events)]
	}
	return out, r.done, r.err, r.changed
}

type runs struct {
	mu   sync.Mutex
	byID map[string]*run
}

// add registers a new run, first dropping finished runs older than RunRetention; at maxRuns (and none
// to drop) it refuses.
func (rs *runs) add(r *run) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.byID == nil {
		rs.byID = map[string]*run{}
	}
	now := time.Now()
	var oldest *run
	for id, x := range rs.byID {
		x.mu.Lock()
		done, ended := x.done, x.ended
		x.mu.Unlock()
		if done && now.Sub(ended) > RunRetention {
			delete(rs.byID, id)
			continue
		}
		if done && (oldest == nil || ended.Before(oldest.ended)) {
			oldest = x
		}
	}
	if len(rs.byID) >= maxRuns {
		if oldest == nil {
			return status.Errorf(codes.ResourceExhausted, "the gateway is running %d messages, its limit; retry when one has finished", maxRuns)
		}
		delete(rs.byID, oldest.id)
	}
	rs.byID[r.id] = r
	return nil
}

func (rs *runs) get(id string) *run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byID[id]
}

func newRunID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "run_" + hex.EncodeToString(b)
}

// startRun serves POST RunsPath.
func (g *gateway) startRun(w http.ResponseWriter, r *http.Request) {
	convID := r.PathValue("conversation_id")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		g.bodyError(w, r, err, g.opts.MaxBodyBytes)
		return
	}
	req := &orchestratorv1.SendMessageRequest{}
	if len(body) > 0 {
		if err := decodeBody(g.json.UnmarshalOptions, body, req); err != nil {
			g.writeStatus(w, r, status.New(codes.InvalidArgument, err.Error()), http.StatusBadRequest)
			return
		}
	}
	req.ConversationId = convID
	ctx, err := g.annotate(r, orchestratorv1.OrchestratorService_SendMessage_FullMethodName, RunsPath)
	if err != nil {
		g.writeStatus(w, r, status.Convert(err), http.StatusBadRequest)
		return
	}
	// The run outlives the request: keep its credentials and trace, not its cancellation. It ends
	// with the gateway or after MaxRunDuration.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), MaxRunDuration)
	stopWithGateway := context.AfterFunc(g.ctx, cancel)
	stream, err := orchestratorv1.NewOrchestratorServiceClient(g.b.conn(Orchestrator)).SendMessage(rctx, req)
	if err != nil {
		stopWithGateway()
		cancel()
		st := status.Convert(backendError(Orchestrator, err))
		g.writeStatus(w, r, st, httpStatus(st.Code()))
		return
	}
	ru := &run{id: newRunID(), conversationID: convID, changed: make(chan struct{})}
	first := make(chan error, 1) // nil once an event arrived, else the stream's end
	go func() {
		defer cancel()
		defer stopWithGateway()
		n := 0
		for {
			m, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				} else {
					err = backendError(Orchestrator, err)
				}
				if n == 0 {
					first <- err
				}
				ru.finish(err)
				return
			}
			b, merr := g.json.Marshal(m.GetEvent())
			if merr != nil {
				b = []byte(`{}`)
			}
			ru.add(b)
			if n++; n == 1 {
				first <- nil
			}
		}
	}()
	t := time.NewTimer(firstEventWait)
	defer t.Stop()
	select {
	case err := <-first:
		if err != nil {
			st := status.Convert(err)
			g.writeStatus(w, r, st, httpStatus(st.Code()))
			return
		}
	case <-t.C: // still planning: the events will come on the stream
	case <-r.Context().Done():
	}
	if err := g.runs.add(ru); err != nil {
		cancel()
		g.writeStatus(w, r, status.Convert(err), http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/v1/conversations/"+convID+"/runs/"+ru.id+"/events")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{
		"runId": ru.id, "conversationId": convID, "eventsUrl": "/v1/conversations/" + convID + "/runs/" + ru.id + "/events",
	})
}

// lastEventID reads Last-Event-ID (or the last_event_id query parameter): the number of events the
// client already has.
func (g *gateway) lastEventID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(last, 10, 64)
	if err != nil {
		g.invalid(w, r, "Last-Event-ID", "must be an event sequence number")
		return 0, false
	}
	return n, true
}

// runEvents serves GET RunEventsPath.
func (g *gateway) runEvents(w http.ResponseWriter, r *http.Request) {
	convID, runID := r.PathValue("conversation_id"), r.PathValue("run_id")
	after, ok := g.lastEventID(w, r)
	if !ok {
		return
	}
	ctx, err := g.annotate(r, orchestratorv1.OrchestratorService_GetConversation_FullMethodName, RunEventsPath)
	if err != nil {
		g.writeStatus(w, r, status.Convert(err), http.StatusBadRequest)
		return
	}
	// The caller must be allowed to read the conversation (the orchestrator decides).
	if _, err := orchestratorv1.NewOrchestratorServiceClient(g.b.conn(Orchestrator)).GetConversation(ctx,
		&orchestratorv1.GetConversationRequest{ConversationId: convID}); err != nil {
		st := status.Convert(backendError(Orchestrator, err))
		g.writeStatus(w, r, st, httpStatus(st.Code()))
		return
	}
	ru := g.runs.get(runID)
	if ru == nil || ru.conversationID != convID {
		g.writeStatus(w, r, status.Newf(codes.NotFound,
			"run %s of conversation %s is not on this gateway (finished runs are kept %s); the answered message is in GET /v1/conversations/%s",
			runID, convID, RunRetention, convID), http.StatusNotFound)
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
	tick := time.NewTicker(g.opts.Heartbeat)
	defer tick.Stop()
	next := int(min(after, uint64(maxEventsPerRun)))
	for {
		evs, done, st, changed := ru.since(next)
		for _, b := range evs {
			next++
			if !send(fmt.Sprintf("id: %d\nevent: conversation\ndata: %s\n\n", next, b)) {
				return
			}
		}
		if done {
			if st != nil {
				b, _ := statusJSON(st)
				send("event: error\ndata: " + string(b) + "\n\n")
				return
			}
			ru.mu.Lock()
			total := min(next, len(ru.events)) // a Last-Event-ID past the end is not an event count
			ru.mu.Unlock()
			end, _ := json.Marshal(map[string]any{"conversationId": convID, "runId": runID, "events": total})
			send("event: end\ndata: " + string(end) + "\n\n")
			return
		}
		select {
		case <-changed:
		case <-tick.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-g.ctx.Done():
			return // the gateway stops; the browser reconnects with Last-Event-ID
		}
	}
}

// maxEventsPerRun only bounds a Last-Event-ID from a client to a sane index.
const maxEventsPerRun = 1 << 30
