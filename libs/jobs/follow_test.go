package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
)

// TestOnSucceeded: the follower sees each successful job of its kind once (a failing handler is
// retried), and neither failed jobs nor jobs of other kinds.
func TestOnSucceeded(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	calls := 0
	// The consumer starts with the events after its creation: create it before the jobs run.
	if _, err := q.followConsumer(ctx, "test-follow"); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = q.OnSucceeded(ctx, "test-follow", "ingest", func(ctx context.Context, j *jobsv1.Job) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return errors.New("transient") // offered again
			}
			seen[j.Id+"|"+j.ResultId]++
			return nil
		})
	}()
	for _, kind := range []string{"ingest", "other"} {
		go q.Work(ctx, kind, 1, func(ctx context.Context, task *Task) error {
			v := &wrapperspb.StringValue{}
			_ = protoUnmarshal(task.Payload, v)
			if v.Value == "bad" {
				return Permanent(errors.New("bad input"))
			}
			return task.SetResult(ctx, "ds_"+v.Value)
		})
	}
	var ok *jobsv1.Job
	for _, sub := range []struct{ kind, val string }{{"ingest", "a"}, {"ingest", "bad"}, {"other", "b"}} {
		j, err := q.Submit(ctx, &jobsv1.Job{Kind: sub.kind, ProjectId: "prj_1"}, wrapperspb.String(sub.val))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Wait(ctx, j.Id); err != nil {
			t.Fatal(err)
		}
		if sub.val == "a" {
			ok = j
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for wrong extra calls
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[ok.Id+"|ds_a"] != 1 {
		t.Errorf("successes seen %v, want only %s|ds_a once", seen, ok.Id)
	}
	if calls != 2 {
		t.Errorf("%d handler calls, want 2 (one failed, one retried)", calls)
	}
}
