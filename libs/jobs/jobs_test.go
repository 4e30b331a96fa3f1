package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/natsembed"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
)

func setup(t *testing.T) (*Queue, string) {
	t.Helper()
	dir := t.TempDir()
	ns, err := natsembed.Start(filepath.Join(dir, "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := New(context.Background(), nc, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return q, ns.URL()
}

func TestSubmitWorkWatch(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got string
	go q.Work(ctx, "echo", 2, func(ctx context.Context, task *Task) error {
		v := &wrapperspb.StringValue{}
		if err := protoUnmarshal(task.Payload, v); err != nil {
			return Permanent(err)
		}
		got = v.Value
		if err := task.Progress(ctx, 0.5, "halfway", ""); err != nil {
			return err
		}
		return task.SetResult(ctx, "res_1")
	})
	job, err := q.Submit(ctx, &jobsv1.Job{Kind: "echo", ProjectId: "prj_1"}, wrapperspb.String("hi"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	if err := q.Watch(ctx, job.Id, func(ev *jobsv1.JobEvent) error { stages = append(stages, ev.Stage); return nil }); err != nil {
		t.Fatal(err)
	}
	final, _ := q.Get(ctx, job.Id)
	if final.State != jobsv1.JobState_JOB_STATE_SUCCEEDED || final.ResultId != "res_1" || final.Progress != 1 || got != "hi" {
		t.Fatalf("final = %v, payload %q", final, got)
	}
	want := []string{"queued", "started", "halfway"}
	for i, w := range want {
		if i >= len(stages) || stages[i] != w {
			t.Fatalf("stages = %v, want prefix %v", stages, want)
		}
	}
	if stages[len(stages)-1] != "done" {
		t.Fatalf("last stage = %v", stages)
	}
}

func TestPermanentFailure(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var calls atomic.Int32
	go q.Work(ctx, "bad", 1, func(ctx context.Context, task *Task) error {
		calls.Add(1)
		return Permanent(errors.New("column \"x\" does not exist"))
	})
	job, _ := q.Submit(ctx, &jobsv1.Job{Kind: "bad"}, wrapperspb.String(""))
	final, err := q.Wait(ctx, job.Id)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != jobsv1.JobState_JOB_STATE_FAILED || final.Error != "column \"x\" does not exist" || calls.Load() != 1 {
		t.Fatalf("final = %v after %d calls", final, calls.Load())
	}
}

// A worker that takes a job and dies without acking: the job is redelivered and completes once.
func TestRedeliveryAfterCrash(t *testing.T) {
	q, url := setup(t)
	q.AckWait = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Create the durable consumer with the short AckWait first.
	wctx, stopFirst := context.WithCancel(ctx)
	go q.Work(wctx, "crash", 1, func(ctx context.Context, task *Task) error { return nil })
	time.Sleep(300 * time.Millisecond)
	stopFirst()
	time.Sleep(2500 * time.Millisecond) // let the idle fetch expire

	job, err := q.Submit(ctx, &jobsv1.Job{Kind: "crash"}, wrapperspb.String(""))
	if err != nil {
		t.Fatal(err)
	}
	// The "crashing" worker: a separate connection fetches the message and vanishes.
	nc2, _ := nats.Connect(url)
	js2, _ := jetstream.New(nc2)
	cons, err := js2.Consumer(ctx, workStream, "work-crash")
	if err != nil {
		t.Fatal(err)
	}
	b, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range b.Messages() {
		n++
	}
	if n != 1 {
		t.Fatalf("crashing worker fetched %d messages", n)
	}
	nc2.Close()

	var runs atomic.Int32
	go q.Work(ctx, "crash", 1, func(ctx context.Context, task *Task) error {
		runs.Add(1)
		if task.Attempt < 2 {
			t.Errorf("attempt = %d, want a redelivery", task.Attempt)
		}
		return nil
	})
	final, err := q.Wait(ctx, job.Id)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if final.State != jobsv1.JobState_JOB_STATE_SUCCEEDED || runs.Load() != 1 {
		t.Fatalf("final = %v, runs = %d", final.State, runs.Load())
	}
}

// TestCancelStopsHandler: a job cancelled while its handler works is seen at the handler's next
// Progress call, which also cancels the handler's context, so work that only watches the context
// (a progress callback deep in a search cannot return the error) stops; the handler's own error
// (here the context's) is taken as the cancel, and the job stays cancelled, not failed.
func TestCancelStopsHandler(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	started := make(chan struct{})
	var sawCancelled atomic.Bool
	stopped := make(chan error, 1)
	go q.Work(ctx, "long", 1, func(hctx context.Context, task *Task) error {
		close(started)
		for {
			_ = task.Progress(ctx, 0.5, "working", "") // the error is ignored, as a callback would
			select {
			case <-hctx.Done():
				sawCancelled.Store(task.Cancelled())
				stopped <- hctx.Err()
				return hctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	job, err := q.Submit(ctx, &jobsv1.Job{Kind: "long"}, wrapperspb.String(""))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if _, err := q.Cancel(ctx, job.Id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) || !sawCancelled.Load() {
			t.Fatalf("handler stopped with %v, Cancelled() %v", err, sawCancelled.Load())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled within 5 s of the job's cancel")
	}
	time.Sleep(200 * time.Millisecond) // the worker records the outcome
	if final, _ := q.Get(ctx, job.Id); final.State != jobsv1.JobState_JOB_STATE_CANCELLED || final.Error != "" {
		t.Fatalf("final = %v, want cancelled without an error", final)
	}
}
