package server

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/storage"
)

// An SQL execution's record is written in two steps: its row is created when the query starts
// (while it runs, off the response's path), and its final state (outcome, message, outputs) once the
// query's outcome is known. The handler waits for the final write before it sends the status (see
// Execute), GetExecution in this replica waits for a final write under way, and the service's
// shutdown waits for those writes. A final write that fails is retried (recordAttempts, with
// backoff), and a row whose creation failed is created by the final write; if the process dies
// between the two steps (during the query), the record stays, without a status
// (OUTCOME_UNSPECIFIED).
type records struct {
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when the final write has ended
	wg      sync.WaitGroup
}

const recordAttempts = 5

var recordBackoff = 50 * time.Millisecond

type execRecord struct {
	created chan error // the first step's result
	done    chan struct{}
}

// begin creates the row of exe (as it is now, without a status) in the background.
func (s *Server) beginRecord(ctx context.Context, exe *sandboxv1.Execution) *execRecord {
	r := &execRecord{created: make(chan error, 1), done: make(chan struct{})}
	b, err := proto.Marshal(exe)
	s.recs.mu.Lock()
	if s.recs.pending == nil {
		s.recs.pending = map[string]chan struct{}{}
	}
	s.recs.pending[exe.Id] = r.done
	s.recs.mu.Unlock()
	s.recs.wg.Add(1)
	if err != nil {
		r.created <- err
		return r
	}
	res := storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId, State: exe.GetStatus().GetOutcome().String(), Data: b}
	go func() { r.created <- s.rt.Store.CreateResource(context.WithoutCancel(ctx), res) }()
	return r
}

// finish writes exe's final state in the background. Call it exactly once per beginRecord.
func (s *Server) finishRecord(ctx context.Context, r *execRecord, exe *sandboxv1.Execution) {
	b, merr := proto.Marshal(exe) // now: exe may change after this returns
	state := exe.GetStatus().GetOutcome().String()
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer s.recs.wg.Done()
		defer func() {
			s.recs.mu.Lock()
			delete(s.recs.pending, exe.Id)
			s.recs.mu.Unlock()
			close(r.done)
		}()
		if merr != nil {
			s.rt.Log.ErrorContext(ctx, "execution record: encode", "id", exe.Id, "err", merr)
			return
		}
		created := <-r.created == nil
		var err error
		for attempt := 0; attempt < recordAttempts; attempt++ {
			if attempt > 0 {
				time.Sleep(recordBackoff << (attempt - 1))
			}
			if created {
				_, err = s.rt.Store.UpdateResource(ctx, KindExecution, exe.Id, func(o storage.Resource) (storage.Resource, error) {
					o.State, o.Data = state, b
					return o, nil
				})
			} else if err = s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId, State: state, Data: b}); err != nil {
				// It may exist after all (a create that failed late): update it next time.
				if _, gerr := s.rt.Store.GetResource(ctx, KindExecution, exe.Id); gerr == nil {
					created = true
				}
			}
			if err == nil {
				return
			}
			s.rt.Log.WarnContext(ctx, "execution record", "id", exe.Id, "attempt", attempt+1, "err", err)
		}
		s.rt.Log.ErrorContext(ctx, "execution record: final state not stored", "id", exe.Id, "outcome", state, "err", err)
	}()
}

// waitRecord waits for the final write of execution id, if one is under way in this replica.
func (s *Server) waitRecord(ctx context.Context, id string) {
	s.recs.mu.Lock()
	ch := s.recs.pending[id]
	s.recs.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// waitRecords waits until no record write is under way, or ctx ends.
func (s *Server) waitRecords(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.recs.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
