package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
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
	defer st.Close()
	recordBackoff = time.Millisecond
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
		s.finishRecord(ctx, rec, exe)
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
