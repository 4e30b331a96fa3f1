package jobs

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/logging"
)

// shutdownMsg is a delivered job message that records how it was answered.
type shutdownMsg struct {
	jetstream.Msg // the methods handle does not call
	h             nats.Header
	answer        string
}

func (m *shutdownMsg) Headers() nats.Header { return m.h }
func (m *shutdownMsg) Data() []byte         { return nil }
func (m *shutdownMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: 2}, nil
}
func (m *shutdownMsg) Ack() error                       { m.answer = "ack"; return nil }
func (m *shutdownMsg) Nak() error                       { m.answer = "nak"; return nil }
func (m *shutdownMsg) Term() error                      { m.answer = "term"; return nil }
func (m *shutdownMsg) NakWithDelay(time.Duration) error { m.answer = "nak-delay"; return nil }

// TestJobArrivingAtShutdown: a job message delivered as the worker's context ends (a redelivery of
// a job another worker of the process returned at shutdown) is returned to the queue at once and
// logged as such, not as a failed start (a WARN "job start … context canceled" in an orderly stop
// of vds up); the job stays queued.
func TestJobArrivingAtShutdown(t *testing.T) {
	q, _ := setup(t)
	var logs logging.SyncBuffer
	q.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	j, err := q.Submit(context.Background(), &jobsv1.Job{Kind: "probe"}, wrapperspb.String("x"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &shutdownMsg{h: nats.Header{headerJobID: []string{j.Id}}}
	q.handle(ctx, "probe", m, func(context.Context, *Task) error {
		t.Error("the handler ran after shutdown")
		return nil
	})
	if m.answer != "nak" {
		t.Errorf("answered %q, want nak", m.answer)
	}
	out := logs.String()
	if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") || !strings.Contains(out, "returned to the queue") {
		t.Errorf("logged:\n%s", out)
	}
	if got, err := q.Get(context.Background(), j.Id); err != nil || got.State != jobsv1.JobState_JOB_STATE_QUEUED {
		t.Errorf("job %v (%v), want queued", got.GetState(), err)
	}
}
