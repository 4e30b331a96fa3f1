package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
)

// flakyStore fails the first creates and updates it is asked for.
type flakyStore struct {
	storage.Storage
	failCreates, failUpdates atomic.Int32
	creates, updates         atomic.Int32
}

var errFlaky = errors.New("store unavailable")

func (f *flakyStore) CreateResource(ctx context.Context, r storage.Resource) error {
	f.creates.Add(1)
	if f.failCreates.Add(-1) >= 0 {
		return errFlaky
	}
	return f.Storage.CreateResource(ctx, r)
}

func (f *flakyStore) SetResourceState(ctx context.Context, kind, id, state string, data []byte) error {
	f.updates.Add(1)
	if f.failUpdates.Add(-1) >= 0 {
		return errFlaky
	}
	return f.Storage.SetResourceState(ctx, kind, id, state, data)
}

func (f *flakyStore) UpdateResource(ctx context.Context, kind, id string, fn func(storage.Resource) (storage.Resource, error)) (storage.Resource, error) {
	f.updates.Add(1)
	if f.failUpdates.Add(-1) >= 0 {
		return storage.Resource{}, errFlaky
	}
	return f.Storage.UpdateResource(ctx, kind, id, fn)
}

// TestRecordNeverLost: the row of an execution exists while it runs (no status yet); its final
// state is stored even when the store fails the first writes (the creation and the next two final
// writes here), and waitRecord/waitRecords wait for it; a failed final write is retried, not
// dropped.
func TestRecordNeverLost(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "vds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the cleanup below (cleanups run last first)
	var servers []*Server
	saved := recordBackoff
	recordBackoff = time.Millisecond
	t.Cleanup(func() {
		// No write of this test may still read recordBackoff when it is restored.
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range servers {
			if err := s.waitRecords(wctx); err != nil {
				t.Errorf("records still being written: %v", err)
			}
		}
		recordBackoff = saved
	})
	get := func(id string) (*sandboxv1.Execution, string, error) {
		r, err := st.GetResource(ctx, KindExecution, id)
		if err != nil {
			return nil, "", err
		}
		e := &sandboxv1.Execution{}
		return e, r.State, proto.Unmarshal(r.Data, e)
	}
	for _, tc := range []struct {
		name                     string
		failCreates, failUpdates int32
		wantCreates, wantUpdates int32
	}{
		{"store fine", 0, 0, 1, 1},
		{"update fails twice", 0, 2, 1, 3},
		{"create fails, then the final create fails twice", 3, 0, 4, 0},
	} {
		fs := &flakyStore{Storage: st}
		fs.failCreates.Store(tc.failCreates)
		fs.failUpdates.Store(tc.failUpdates)
		s := &Server{rt: &platform.Runtime{Store: fs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
		servers = append(servers, s)
		exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x", Language: sandboxv1.Language_LANGUAGE_SQL, Code: "SELECT 1"}
		rec := s.beginRecord(ctx, exe)
		if tc.failCreates == 0 {
			if err := <-rec.created; err != nil {
				t.Fatal(err)
			}
			rec.created <- nil // as it was, for finishRecord
			e, state, err := get(exe.Id)
			if err != nil || e.Status != nil || e.Code != "SELECT 1" || state != "OUTCOME_UNSPECIFIED" {
				t.Errorf("%s: while running: %v %q %v, want the row without a status", tc.name, e, state, err)
			}
		}
		exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_ERROR, Message: "boom"}
		s.finishRecord(ctx, rec, exe, false)
		exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK} // a later change is not what is stored
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s.waitRecord(wctx, exe.Id)
		if err := s.waitRecords(wctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		e, state, err := get(exe.Id)
		if err != nil || e.GetStatus().GetOutcome() != sandboxv1.Outcome_OUTCOME_ERROR || e.GetStatus().GetMessage() != "boom" || state != "OUTCOME_ERROR" || e.Code != "SELECT 1" {
			t.Errorf("%s: final record %v %q %v, want OUTCOME_ERROR boom", tc.name, e, state, err)
		}
		if fs.creates.Load() != tc.wantCreates || fs.updates.Load() != tc.wantUpdates {
			t.Errorf("%s: %d creates, %d updates; want %d and %d", tc.name, fs.creates.Load(), fs.updates.Load(), tc.wantCreates, tc.wantUpdates)
		}
		if len(s.recs.pending) != 0 {
			t.Errorf("%s: %d records still pending", tc.name, len(s.recs.pending))
		}
	}
}

// TestRecordBackoffRestored runs after TestRecordNeverLost (tests run in source order): the
// shortened backoff that test sets must not stay for the tests after it.
func TestRecordBackoffRestored(t *testing.T) {
	if recordBackoff != 50*time.Millisecond {
		t.Errorf("recordBackoff = %v after the earlier tests, want the default 50ms", recordBackoff)
	}
}

// memStore keeps execution records in a map; blockUpdates, when set, holds every final write
// until it is closed.
type memStore struct {
	storage.Storage
	mu           sync.Mutex
	m            map[string]storage.Resource
	blockUpdates chan struct{}
}

func (m *memStore) CreateResource(ctx context.Context, r storage.Resource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]storage.Resource{}
	}
	if _, ok := m.m[r.ID]; ok {
		return storage.ErrAlreadyExists
	}
	m.m[r.ID] = r
	return nil
}

func (m *memStore) GetResource(ctx context.Context, kind, id string) (storage.Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[id]
	if !ok {
		return storage.Resource{}, storage.ErrNotFound
	}
	return r, nil
}

func (m *memStore) UpdateResource(ctx context.Context, kind, id string, fn func(storage.Resource) (storage.Resource, error)) (storage.Resource, error) {
	if m.blockUpdates != nil {
		<-m.blockUpdates
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[id]
	if !ok {
		return storage.Resource{}, storage.ErrNotFound
	}
	r, err := fn(r)
	if err == nil {
		m.m[id] = r
	}
	return r, err
}

func (m *memStore) SetResourceState(ctx context.Context, kind, id, state string, data []byte) error {
	_, err := m.UpdateResource(ctx, kind, id, func(r storage.Resource) (storage.Resource, error) {
		r.State, r.Data = state, data
		return r, nil
	})
	return err
}

// TestRecordsBeginWhileWaiting: records begin and end while others wait for them (as WaitWarm
// does between benchmark runs, and the shutdown while the last requests end); with a WaitGroup
// this panicked ("WaitGroup is reused before previous Wait has returned", run it with -race).
// Every record ends with its final state stored and nothing pending, and a wait whose context
// expires returns its error without leaving a goroutine behind.
func TestRecordsBeginWhileWaiting(t *testing.T) {
	ms := &memStore{}
	s := &Server{rt: &platform.Runtime{Store: ms, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx := context.Background()
	const writers, each = 4, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var waits atomic.Int64
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				if err := s.waitRecords(wctx); err != nil {
					t.Errorf("wait: %v", err)
				}
				cancel()
				waits.Add(1)
			}
		}()
	}
	var seen sync.Map
	var ww sync.WaitGroup
	for w := 0; w < writers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for i := 0; i < each; i++ {
				exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x", Code: "SELECT 1"}
				rec := s.beginRecord(ctx, exe)
				exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK, Message: exe.Id}
				s.finishRecord(ctx, rec, exe, false)
				seen.Store(exe.Id, true)
			}
		}()
	}
	ww.Wait()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.waitRecords(wctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if waits.Load() == 0 {
		t.Error("no wait ran alongside the records")
	}
	n := 0
	seen.Range(func(k, _ any) bool {
		n++
		r, err := ms.GetResource(ctx, KindExecution, k.(string))
		e := &sandboxv1.Execution{}
		if err == nil {
			err = proto.Unmarshal(r.Data, e)
		}
		if err != nil || r.State != "OUTCOME_OK" || e.GetStatus().GetMessage() != k.(string) {
			t.Errorf("%s: %q %v %v, want its final state", k, r.State, e.GetStatus(), err)
		}
		return true
	})
	if n != writers*each || len(s.recs.pending) != 0 || s.recs.active != 0 {
		t.Errorf("%d records, %d pending, %d active; want %d, 0, 0", n, len(s.recs.pending), s.recs.active, writers*each)
	}

	// A write held up: the wait gives up at its deadline and leaves no goroutine behind.
	ms.blockUpdates = make(chan struct{})
	exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x"}
	rec := s.beginRecord(ctx, exe)
	s.finishRecord(ctx, rec, exe, false)
	runtime.Gosched()
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		sctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		if err := s.waitRecords(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait with a write held up: %v, want the deadline", err)
		}
		cancel()
	}
	if after := runtime.NumGoroutine(); after >= before+10 { // a helper goroutine per wait would make 20
		t.Errorf("%d goroutines after 20 expired waits, %d before", after, before)
	}
	close(ms.blockUpdates)
	if err := s.waitRecords(wctx); err != nil {
		t.Fatal(err)
	}
}

// TestCloseRecords: closeRecords waits for the background writes begun before it, and a record
// begun after it is written in the caller's goroutine: its final state is stored when finishRecord
// returns, and no background write is left for a wait that has already returned.
func TestCloseRecords(t *testing.T) {
	ms := &memStore{blockUpdates: make(chan struct{})}
	s := &Server{rt: &platform.Runtime{Store: ms, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx := context.Background()
	early := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x"}
	rec := s.beginRecord(ctx, early)
	early.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_ERROR}
	s.finishRecord(ctx, rec, early, false)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.closeRecords(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("closeRecords with a write held up: %v, want the deadline", err)
	}
	close(ms.blockUpdates)
	wctx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := s.closeRecords(wctx); err != nil {
		t.Fatal(err)
	}
	if r, err := ms.GetResource(ctx, KindExecution, early.Id); err != nil || r.State != "OUTCOME_ERROR" {
		t.Errorf("record begun before closing: %q %v, want OUTCOME_ERROR", r.State, err)
	}

	late := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x"}
	rec = s.beginRecord(ctx, late)
	if _, err := ms.GetResource(ctx, KindExecution, late.Id); err != nil {
		t.Errorf("record begun after closing: row not created by beginRecord: %v", err)
	}
	late.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK}
	s.finishRecord(ctx, rec, late, false)
	select {
	case <-rec.done:
	default:
		t.Error("finishRecord after closing returned before its write ended")
	}
	if r, err := ms.GetResource(ctx, KindExecution, late.Id); err != nil || r.State != "OUTCOME_OK" {
		t.Errorf("record begun after closing: %q %v, want OUTCOME_OK when finishRecord returns", r.State, err)
	}
	if s.recs.active != 0 || len(s.recs.pending) != 0 {
		t.Errorf("%d active, %d pending after closing", s.recs.active, len(s.recs.pending))
	}
}

// TestFinishRecordHere: with here set the final state is stored when finishRecord returns (the
// handler's normal path), nothing stays pending or active, and a later begin/finish in the
// background still counts and ends as before.
func TestFinishRecordHere(t *testing.T) {
	ms := &memStore{}
	s := &Server{rt: &platform.Runtime{Store: ms, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx := context.Background()
	exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x"}
	rec := s.beginRecord(ctx, exe)
	exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK}
	s.finishRecord(ctx, rec, exe, true)
	select {
	case <-rec.done:
	default:
		t.Fatal("finishRecord(here) returned before its write ended")
	}
	if r, err := ms.GetResource(ctx, KindExecution, exe.Id); err != nil || r.State != "OUTCOME_OK" {
		t.Fatalf("record: %q %v, want OUTCOME_OK when finishRecord returns", r.State, err)
	}
	if s.recs.active != 0 || len(s.recs.pending) != 0 {
		t.Fatalf("%d active, %d pending", s.recs.active, len(s.recs.pending))
	}
	bg := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: "prj_x"}
	rec = s.beginRecord(ctx, bg)
	bg.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_ERROR}
	s.finishRecord(ctx, rec, bg, false)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.waitRecords(wctx); err != nil {
		t.Fatal(err)
	}
	if r, err := ms.GetResource(ctx, KindExecution, bg.Id); err != nil || r.State != "OUTCOME_ERROR" || s.recs.active != 0 {
		t.Fatalf("background record: %q %v, %d active", r.State, err, s.recs.active)
	}
}
