package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/storage"
)

// OnSucceeded calls fn with the record of every job of kind that succeeds, read from the job event
// stream through the durable consumer named durable: every replica of a service that passes the
// same name shares it, so each success is handled once. The consumer starts with the events
// published after it was first created. A job whose fn returns an error is offered again after a
// delay, at most five times in all; fn should be idempotent (a success may be announced twice).
// It blocks until ctx is done.
func (q *Queue) OnSucceeded(ctx context.Context, durable, kind string, fn func(ctx context.Context, j *jobsv1.Job) error) error {
	cons, err := q.followConsumer(ctx, durable)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, fetchWait) // ends with ctx (shutdown) too
		batch, err := cons.Fetch(64, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			q.log.WarnContext(ctx, "fetch job events", "consumer", durable, "err", err)
			time.Sleep(500 * time.Millisecond)
			continue
		}
		for msg := range batch.Messages() {
			ev := &jobsv1.JobEvent{}
			if err := proto.Unmarshal(msg.Data(), ev); err != nil || ev.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
				_ = msg.Ack()
				continue
			}
			j, err := q.Get(ctx, ev.JobId)
			if errors.Is(err, storage.ErrNotFound) || (err == nil && j.Kind != kind) {
				_ = msg.Ack()
				continue
			}
			if err == nil {
				err = fn(ctx, j)
			}
			if err != nil {
				if ctx.Err() != nil {
					_ = msg.Nak()
					cancel()
					return nil
				}
				q.log.WarnContext(ctx, "handle job success", "consumer", durable, "job_id", ev.JobId, "err", err)
				_ = msg.NakWithDelay(5 * time.Second)
				continue
			}
			_ = msg.Ack()
		}
		cancel()
	}
	return nil
}

// followConsumer creates (or finds) OnSucceeded's durable consumer.
func (q *Queue) followConsumer(ctx context.Context, durable string) (jetstream.Consumer, error) {
	cons, err := q.js.CreateOrUpdateConsumer(ctx, eventStream, jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: eventPrefix + ">",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       5 * time.Minute,
		MaxDeliver:    5,
	})
	if err != nil {
		return nil, fmt.Errorf("job event consumer %s: %w", durable, err)
	}
	return cons, nil
}
