package jobs

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/wrapperspb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/telemetry"
)

// TestJobMetrics submits jobs that succeed, fail permanently and fail once then succeed, and checks
// the outcome counters, the duration histogram and the queue depth read from JetStream.
func TestJobMetrics(t *testing.T) {
	q, _ := setup(t)
	q.MaxDeliver = 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A kind of its own per run: the counters are process-wide, so a second run (-count=2) must not
	// find the first one's counts.
	kind := "metricsprobe" + strconv.FormatInt(time.Now().UnixNano(), 36)

	// Three jobs wait before any worker exists: the depth is the broker's count of pending messages,
	// and the consumer (which the depth is read from) is made by the first Work call, so start a
	// worker that is blocked until released.
	release := make(chan struct{})
	tries := map[string]int{}
	wctx, stopWork := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Work(wctx, kind, 1, func(ctx context.Context, task *Task) error {
			<-release
			v := &wrapperspb.StringValue{}
			if err := task.Decode(v); err != nil {
				return err
			}
			tries[v.Value]++
			switch {
			case v.Value == "bad":
				return Permanent(errors.New("bad input"))
			case v.Value == "flaky" && tries[v.Value] == 1:
				return errors.New("transient")
			}
			return nil
		})
	}()
	var jobs []*jobsv1.Job
	for _, v := range []string{"ok", "bad", "flaky"} {
		j, err := q.Submit(ctx, &jobsv1.Job{ProjectId: "prj_1", Kind: kind}, wrapperspb.String(v))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	var d uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if d, _ = q.PendingCount(ctx, kind); d == 3 {
			break
		}
	}
	if d != 3 {
		t.Fatalf("queue depth = %v before the worker runs, want 3", d)
	}
	if got := queueDepthSample(t, kind); got != 3 {
		t.Errorf("vds_job_queue_depth{kind=%q} = %v, want 3", kind, got)
	}
	close(release)
	for _, j := range jobs {
		if _, err := q.Wait(ctx, j.Id); err != nil {
			t.Fatal(err)
		}
	}
	// The run span and metrics are recorded just after the final event.
	want := map[string]float64{outcomeSucceeded: 2, outcomeFailed: 1, outcomeRetried: 1}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if testutil.ToFloat64(telemetry.Jobs.WithLabelValues(kind, outcomeSucceeded)) == 2 {
			break
		}
	}
	for outcome, n := range want {
		if got := testutil.ToFloat64(telemetry.Jobs.WithLabelValues(kind, outcome)); got != n {
			t.Errorf("vds_jobs_total{kind=%q,outcome=%q} = %v, want %v", kind, outcome, got, n)
		}
	}
	if got := testutil.ToFloat64(telemetry.JobsSubmitted.WithLabelValues(kind)); got != 3 {
		t.Errorf("vds_jobs_submitted_total = %v, want 3", got)
	}
	if got := testutil.CollectAndCount(telemetry.JobDuration, "vds_job_duration_seconds"); got < 3 {
		t.Errorf("duration histogram has %d series, want at least 3 (one per outcome)", got)
	}
	if got := queueDepthSample(t, kind); got != 0 {
		t.Errorf("queue depth after the jobs = %v, want 0", got)
	}
	stopWork()
	<-done
}

// queueDepthSample reads vds_job_queue_depth{kind} as a scrape of the registry would.
func queueDepthSample(t *testing.T, kind string) float64 {
	t.Helper()
	// A scrape skips a kind whose depth could not be read just then (the collector gives no sample
	// rather than a failed scrape), so a missing sample is retried for a few seconds.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mfs, err := telemetry.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "vds_job_queue_depth" {
				continue
			}
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetName() == "kind" && l.GetValue() == kind {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no vds_job_queue_depth sample for kind %q", kind)
			return 0
		}
	}
}
