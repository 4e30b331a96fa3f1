// Package jobs runs long work over NATS JetStream. An RPC submits a job (a record in the metadata store
// plus a message on the work-queue stream) and returns its ID at once. Workers pull from a durable
// consumer whose MaxAckPending bounds the in-flight work — the global resource limit for that kind —
// report progress as events on a per-job subject, and ack when done. A worker that dies without acking
// has its message redelivered after AckWait; a live worker extends the deadline with heartbeats.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/telemetry"
)

// Resource kind of job records in the metadata store.
const Kind = "job"

const (
	workStream  = "VDS_JOBS"
	eventStream = "VDS_JOB_EVENTS"
	workPrefix  = "vds.jobs."
	eventPrefix = "vds.events.job."
	headerJobID = "Vds-Job-Id"
	// defaultWait is how soon a job whose worker stopped sending heartbeats is given to another
	// worker. It is also how long a job interrupted by a restart of the whole platform (vds up)
	// waits: the nak sent at shutdown does not survive a restart of the NATS server (JetStream
	// keeps the delivered message pending and redelivers it after AckWait), measured at 45 s with
	// the earlier 60 s. Four heartbeats fit in it, so a worker late by a few seconds keeps its job.
	defaultWait = 20 * time.Second
	// fetchWait bounds one pull of the work and event consumers; a pull also ends with its context.
	fetchWait    = 2 * time.Second
	heartbeatGap = 5 * time.Second
)

// ErrPermanent marks a failure that retrying cannot fix (bad input): the job fails at once.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so the job fails without redelivery.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// Queue submits and runs jobs.
type Queue struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	store storage.Storage
	log   *slog.Logger
	// AckWait is how long a message may stay unacknowledged without a heartbeat.
	AckWait time.Duration
	// MaxDeliver is how many times a job is tried before it is failed.
	MaxDeliver int
}

// New connects the queue and makes sure the streams exist.
func New(ctx context.Context, nc *nats.Conn, store storage.Storage, log *slog.Logger) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	q := &Queue{nc: nc, js: js, store: store, log: log, AckWait: defaultWait, MaxDeliver: 3}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: workStream, Subjects: []string{workPrefix + ">"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, MaxMsgSize: 1 << 20,
	}); err != nil {
		return nil, fmt.Errorf("job stream: %w", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: eventStream, Subjects: []string{eventPrefix + ">"}, Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, MaxMsgsPerSubject: 10000,
	}); err != nil {
		return nil, fmt.Errorf("job event stream: %w", err)
	}
	return q, nil
}

// Submit records a queued job and publishes its payload to the work queue of its kind.
// job.Id is assigned if empty.
func (q *Queue) Submit(ctx context.Context, job *jobsv1.Job, payload proto.Message) (*jobsv1.Job, error) {
	if job.Id == "" {
		job.Id = ids.New(ids.Job)
	}
	now := timestamppb.Now()
	job.State, job.CreateTime, job.UpdateTime, job.Stage = jobsv1.JobState_JOB_STATE_QUEUED, now, now, "queued"
	data, err := proto.Marshal(job)
	if err != nil {
		return nil, err
	}
	if err := q.store.CreateResource(ctx, storage.Resource{Kind: Kind, ID: job.Id, ProjectID: job.ProjectId, ParentID: job.ResultId, State: job.State.String(), Data: data}); err != nil {
		return nil, err
	}
	body, err := proto.Marshal(payload)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(workPrefix + job.Kind)
	msg.Data = body
	msg.Header.Set(headerJobID, job.Id)
	msg.Header.Set(nats.MsgIdHdr, job.Id) // de-duplicates a retried publish
	sctx, span := startSubmitSpan(ctx, job.Kind, job.Id)
	injectTrace(sctx, msg.Header)
	_, err = q.js.PublishMsg(sctx, msg)
	span.End()
	if err != nil {
		return nil, fmt.Errorf("queue job: %w", err)
	}
	telemetry.JobsSubmitted.WithLabelValues(job.Kind).Inc()
	q.emit(ctx, job)
	return job, nil
}

// Get returns a job record.
func (q *Queue) Get(ctx context.Context, id string) (*jobsv1.Job, error) {
	r, err := q.store.GetResource(ctx, Kind, id)
	if err != nil {
		return nil, err
	}
	j := &jobsv1.Job{}
	return j, proto.Unmarshal(r.Data, j)
}

// update changes a job record in a transaction and publishes the new state as an event.
func (q *Queue) update(ctx context.Context, id string, fn func(j *jobsv1.Job) error) (*jobsv1.Job, error) {
	var out *jobsv1.Job
	_, err := q.store.UpdateResource(ctx, Kind, id, func(r storage.Resource) (storage.Resource, error) {
		j := &jobsv1.Job{}
		if err := proto.Unmarshal(r.Data, j); err != nil {
			return r, err
		}
		if err := fn(j); err != nil {
			return r, err
		}
		j.UpdateTime = timestamppb.Now()
		b, err := proto.Marshal(j)
		if err != nil {
			return r, err
		}
		r.Data, r.State = b, j.State.String()
		out = j
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	q.emit(ctx, out)
	return out, nil
}

func (q *Queue) emit(ctx context.Context, j *jobsv1.Job) {
	ev := &jobsv1.JobEvent{JobId: j.Id, Time: j.UpdateTime, State: j.State, Progress: j.Progress, Stage: j.Stage,
		Message: j.Message, Error: j.Error, ResultId: j.ResultId}
	b, _ := proto.Marshal(ev)
	if _, err := q.js.Publish(ctx, eventPrefix+j.Id, b); err != nil {
		q.log.WarnContext(ctx, "job event not published", "job_id", j.Id, "err", err)
	}
}

// Cancel marks a job cancelled; its worker stops at its next progress report.
func (q *Queue) Cancel(ctx context.Context, id string) (*jobsv1.Job, error) {
	return q.update(ctx, id, func(j *jobsv1.Job) error {
		if Terminal(j.State) {
			return nil
		}
		j.State, j.Stage, j.FinishTime = jobsv1.JobState_JOB_STATE_CANCELLED, "cancelled", timestamppb.Now()
		return nil
	})
}

// Terminal reports whether a state is final.
func Terminal(s jobsv1.JobState) bool {
	return s == jobsv1.JobState_JOB_STATE_SUCCEEDED || s == jobsv1.JobState_JOB_STATE_FAILED || s == jobsv1.JobState_JOB_STATE_CANCELLED
}

// Task is one delivery of a job to a worker.
type Task struct {
	Job     *jobsv1.Job
	Payload []byte
	Attempt int
	q       *Queue
	// stop ends the handler's context; Progress calls it when it finds the job cancelled.
	stop      context.CancelFunc
	cancelled atomic.Bool
}

// Cancelled reports whether a Progress call found the job cancelled. The handler's context has
// then been cancelled too, so that work in progress (a search, a conversion, a wait for another
// job) stops at once; the handler's error is taken as ErrCancelled.
func (t *Task) Cancelled() bool { return t.cancelled.Load() }

// ErrCancelled is returned by Progress when the job was cancelled.
var ErrCancelled = errors.New("job cancelled")

// Progress records progress (0..1) and the current stage; it returns ErrCancelled if the job was
// cancelled meanwhile, and then also cancels the handler's context (see Cancelled), so that a
// progress callback deep in the work, which cannot return the error, still stops it.
func (t *Task) Progress(ctx context.Context, frac float64, stage, message string) error {
	j, err := t.q.update(ctx, t.Job.Id, func(j *jobsv1.Job) error {
		if j.State == jobsv1.JobState_JOB_STATE_CANCELLED {
			return ErrCancelled
		}
		j.Progress, j.Stage, j.Message = frac, stage, message
		return nil
	})
	if errors.Is(err, ErrCancelled) {
		t.cancelled.Store(true)
		if t.stop != nil {
			t.stop()
		}
	}
	if err != nil {
		return err
	}
	t.Job = j
	return nil
}

// SetResult records the ID of what the job produces (before it finishes).
func (t *Task) SetResult(ctx context.Context, resultID string) error {
	j, err := t.q.update(ctx, t.Job.Id, func(j *jobsv1.Job) error { j.ResultId = resultID; return nil })
	if err == nil {
		t.Job = j
	}
	return err
}

// Handler does the work of a task. Returning nil succeeds; a Permanent error fails the job at once;
// any other error is retried up to MaxDeliver times.
type Handler func(ctx context.Context, t *Task) error

// Work pulls jobs of kind with at most concurrency in flight across ALL workers of that kind
// (MaxAckPending on the shared durable consumer) and at most concurrency in this process. It blocks
// until ctx is done; unfinished jobs are nak'ed so another worker takes them.
func (q *Queue) Work(ctx context.Context, kind string, concurrency int, h Handler) error {
	if concurrency < 1 {
		concurrency = 1
	}
	cons, err := q.js.CreateOrUpdateConsumer(ctx, workStream, jetstream.ConsumerConfig{
		Durable:       "work-" + kind,
		FilterSubject: workPrefix + kind,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.AckWait,
		MaxAckPending: concurrency,
		MaxDeliver:    q.MaxDeliver + 1,
	})
	if err != nil {
		return fmt.Errorf("job consumer %s: %w", kind, err)
	}
	telemetry.RegisterQueueDepth(kind, func(ctx context.Context) (uint64, error) { return q.PendingCount(ctx, kind) })
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil { // select picks at random when both are ready: do not start another fetch
			<-sem
			return nil
		}
		// The fetch ends when ctx does (shutdown), not only after its 2 s wait.
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			q.log.WarnContext(ctx, "fetch jobs", "kind", kind, "err", err)
			time.Sleep(500 * time.Millisecond)
			continue
		}
		got := false
		for msg := range batch.Messages() {
			got = true
			wg.Add(1)
			go func(msg jetstream.Msg) {
				defer wg.Done()
				defer func() { <-sem }()
				q.handle(ctx, kind, msg, h)
			}(msg)
		}
		cancel()
		if !got {
			<-sem
		}
	}
}

func (q *Queue) handle(ctx context.Context, kind string, msg jetstream.Msg, h Handler) {
	id := msg.Headers().Get(headerJobID)
	attempt := 1
	if md, err := msg.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	ctx, span := startRunSpan(ctx, msg.Headers(), kind, id, attempt)
	defer span.End() // a no-op after endRun
	log := q.log.With("job_id", id, "attempt", attempt)
	job, err := q.update(ctx, id, func(j *jobsv1.Job) error {
		if Terminal(j.State) {
			return errTerminal
		}
		j.State, j.Attempts, j.Stage = jobsv1.JobState_JOB_STATE_RUNNING, int32(attempt), "started"
		return nil
	})
	if err != nil {
		if errors.Is(err, errTerminal) || errors.Is(err, storage.ErrNotFound) {
			msg.Ack() // already finished (or cancelled, or unknown): nothing to do
			return
		}
		if ctx.Err() != nil {
			// Shutting down as it arrived (a fetch that ended with the context, or a job another
			// worker of this process returned): not a failure; another worker takes it at once.
			log.InfoContext(context.WithoutCancel(ctx), "job not started: shutting down; returned to the queue")
			msg.Nak()
			return
		}
		log.WarnContext(ctx, "job start", "err", err)
		msg.NakWithDelay(time.Second)
		return
	}
	if attempt > q.MaxDeliver {
		gaveUp := fmt.Errorf("gave up after %d attempts", q.MaxDeliver)
		q.finish(ctx, id, gaveUp)
		msg.Term()
		endRun(span, kind, outcomeFailed, time.Now(), gaveUp)
		return
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(heartbeatGap)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				msg.InProgress()
			}
		}
	}()
	workCtx, cancelWork := context.WithCancel(ctx)
	task := &Task{Job: job, Payload: msg.Data(), Attempt: attempt, q: q, stop: cancelWork}
	start := time.Now()
	inFlight := telemetry.JobsInFlight.WithLabelValues(kind)
	inFlight.Inc()
	err = safeRun(workCtx, h, task)
	inFlight.Dec()
	cancelWork()
	stopHB()
	if err != nil && task.Cancelled() {
		err = ErrCancelled // whatever the stopped work returned (context canceled, say)
	}
	switch {
	case ctx.Err() != nil && err != nil:
		// Shutting down: hand the job to another worker.
		log.InfoContext(context.WithoutCancel(ctx), "job interrupted by shutdown; returned to the queue")
		msg.Nak()
		endRun(span, kind, outcomeInterrupted, start, err)
	case err == nil:
		q.finish(context.WithoutCancel(ctx), id, nil)
		msg.Ack()
		log.InfoContext(ctx, "job succeeded", "seconds", time.Since(start).Seconds())
		endRun(span, kind, outcomeSucceeded, start, nil)
	case errors.Is(err, ErrCancelled):
		msg.Ack()
		endRun(span, kind, outcomeCancelled, start, err)
	case errors.Is(err, ErrPermanent) || attempt >= q.MaxDeliver:
		q.finish(context.WithoutCancel(ctx), id, err)
		msg.Term()
		log.WarnContext(ctx, "job failed", "err", err)
		endRun(span, kind, outcomeFailed, start, err)
	default:
		log.WarnContext(ctx, "job attempt failed; will retry", "err", err)
		msg.NakWithDelay(time.Duration(attempt) * time.Second)
		endRun(span, kind, outcomeRetried, start, err)
	}
}

var errTerminal = errors.New("job already finished")

func safeRun(ctx context.Context, h Handler, t *Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("internal error: %v", r))
		}
	}()
	return h(ctx, t)
}

func (q *Queue) finish(ctx context.Context, id string, runErr error) {
	_, err := q.update(ctx, id, func(j *jobsv1.Job) error {
		if Terminal(j.State) {
			return nil
		}
		j.FinishTime = timestamppb.Now()
		if runErr != nil {
			j.State, j.Stage = jobsv1.JobState_JOB_STATE_FAILED, "failed"
			j.Error = errorText(runErr)
			return nil
		}
		j.State, j.Stage, j.Progress = jobsv1.JobState_JOB_STATE_SUCCEEDED, "done", 1
		return nil
	})
	if err != nil {
		q.log.ErrorContext(ctx, "record job end", "job_id", id, "err", err)
	}
}

// errorText strips the internal "permanent failure:" marker from a message shown to users.
func errorText(err error) string {
	msg := err.Error()
	const p = "permanent failure: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// Watch calls fn for each event of the job, from the first, until the job ends or ctx is done.
func (q *Queue) Watch(ctx context.Context, id string, fn func(*jobsv1.JobEvent) error) error {
	cons, err := q.js.OrderedConsumer(ctx, eventStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventPrefix + id}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-done:
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		ev := &jobsv1.JobEvent{}
		if err := proto.Unmarshal(msg.Data(), ev); err != nil {
			continue
		}
		if md, err := msg.Metadata(); err == nil {
			ev.Sequence = md.Sequence.Stream
		}
		if err := fn(ev); err != nil {
			return err
		}
		if Terminal(ev.State) {
			return nil
		}
	}
}

// Wait blocks until the job ends and returns its final record.
func (q *Queue) Wait(ctx context.Context, id string) (*jobsv1.Job, error) {
	if err := q.Watch(ctx, id, func(*jobsv1.JobEvent) error { return nil }); err != nil {
		return nil, err
	}
	return q.Get(ctx, id)
}

// PendingCount is the number of jobs of kind waiting in the queue (for metrics and tests).
func (q *Queue) PendingCount(ctx context.Context, kind string) (uint64, error) {
	c, err := q.js.Consumer(ctx, workStream, "work-"+kind)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

// Decode unmarshals the task payload into m, failing the job permanently if it is malformed.
func (t *Task) Decode(m proto.Message) error {
	if err := proto.Unmarshal(t.Payload, m); err != nil {
		return Permanent(fmt.Errorf("malformed job payload: %w", err))
	}
	return nil
}
