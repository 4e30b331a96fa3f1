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
//
// The writes under way are counted under mu (a WaitGroup would panic when a record begins while
// a wait returns, "WaitGroup is reused before previous Wait has returned"), and waiting needs no
// helper goroutine. Once the service is stopping (closeRecords), a record that still begins is
// written in its handler's goroutine instead of the background, so that none starts behind the
// shutdown's wait.
type records struct {
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when the final write has ended
	active  int                      // records begun in the background whose final write has not ended
	idle    chan struct{}            // closed when active falls back to 0; a new one when it rises from 0
	closing bool                     // set by closeRecords: later records are written synchronously
}

const recordAttempts = 5

var recordBackoff = 50 * time.Millisecond

type execRecord struct {
	created chan error // the first step's result
	done    chan struct{}
	sync    bool // begun after closeRecords: both writes run in the caller's goroutine
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
	r.sync = s.recs.closing
	if !r.sync {
		if s.recs.active == 0 {
			s.recs.idle = make(chan struct{})
		}
		s.recs.active++
	}
	s.recs.mu.Unlock()
	if err != nil {
		r.created <- err
		return r
	}
	res := storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId, State: exe.GetStatus().GetOutcome().String(), Data: b}
	if r.sync {
		r.created <- s.rt.Store.CreateResource(context.WithoutCancel(ctx), res)
		return r
	}
	go func() { r.created <- s.rt.Store.CreateResource(context.WithoutCancel(ctx), res) }()
	return r
}

// finishRecord writes exe's final state: in the caller's goroutine when here is set (a caller
// that waits for the write anyway saves the hand-over to another goroutine and back, about a
// tenth of a millisecond on the status's path) or the record was begun after closeRecords, else
// in the background. Call it exactly once per beginRecord.
func (s *Server) finishRecord(ctx context.Context, r *execRecord, exe *sandboxv1.Execution, here bool) {
	b, merr := proto.Marshal(exe) // now: exe may change after this returns
	state := exe.GetStatus().GetOutcome().String()
	ctx = context.WithoutCancel(ctx)
	write := func() {
		defer func() {
			s.recs.mu.Lock()
			delete(s.recs.pending, exe.Id)
			if !r.sync {
				if s.recs.active--; s.recs.active == 0 {
					close(s.recs.idle)
				}
			}
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
				// One UPDATE, no read first: the service owns the record (about 0.1 ms less than
				// UpdateResource's transaction on the status's path).
				err = s.rt.Store.SetResourceState(ctx, KindExecution, exe.Id, state, b)
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
	}
	if r.sync || here {
		write()
	} else {
		go write()
	}
}

// waitRecord waits for the final write of execution id, if one is under way in this replica, and
// reports whether there was one.
func (s *Server) waitRecord(ctx context.Context, id string) (waited bool) {
	s.recs.mu.Lock()
	ch := s.recs.pending[id]
	s.recs.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
	return true
}

// waitRecords waits until no record write is under way in the background, or ctx ends.
func (s *Server) waitRecords(ctx context.Context) error {
	for {
		s.recs.mu.Lock()
		n, idle := s.recs.active, s.recs.idle
		s.recs.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle: // others may have begun since: look again
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closeRecords is the shutdown's wait: from now on records are written in their handlers'
// goroutines, and it waits until the background writes begun before have ended, or ctx ends.
func (s *Server) closeRecords(ctx context.Context) error {
	s.recs.mu.Lock()
	s.recs.closing = true
	s.recs.mu.Unlock()
	return s.waitRecords(ctx)
}
