package telemetry

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every vds metric of the process, plus the Go runtime and process collectors.
var Registry = prometheus.NewRegistry()

// Handler serves Registry in the Prometheus text (or OpenMetrics) format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry, EnableOpenMetrics: true})
}

// Duration buckets, in seconds: RPCs take milliseconds, jobs take up to minutes.
var (
	rpcBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	jobBuckets = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}
)

var (
	// RPCs counts finished gRPC calls served, by service, full method and status code. Its rate is
	// the request rate, and the rate of code!="OK" the error rate.
	RPCs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_rpc_requests_total", Help: "gRPC calls served, by service, method and status code.",
	}, []string{"service", "method", "code"})
	// RPCDuration is the time to serve a gRPC call (for streams, the whole stream).
	RPCDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vds_rpc_duration_seconds", Help: "Time to serve a gRPC call, by service and method.", Buckets: rpcBuckets,
	}, []string{"service", "method"})

	// Jobs counts job deliveries that ended, by kind and outcome (succeeded, failed, retried,
	// cancelled, interrupted).
	Jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_jobs_total", Help: "Job attempts that ended, by kind and outcome.",
	}, []string{"kind", "outcome"})
	// JobDuration is the run time of one job attempt, by kind and outcome.
	JobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vds_job_duration_seconds", Help: "Run time of a job attempt, by kind and outcome.", Buckets: jobBuckets,
	}, []string{"kind", "outcome"})
	// JobsSubmitted counts jobs put on the queue, by kind.
	JobsSubmitted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_jobs_submitted_total", Help: "Jobs submitted to the work queue, by kind.",
	}, []string{"kind"})
	// JobsInFlight is the number of jobs this process is running, by kind.
	JobsInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vds_jobs_in_flight", Help: "Jobs this process is running now, by kind.",
	}, []string{"kind"})

	// FlightBytes counts Arrow Flight payload bytes, by service and direction ("sent", "received").
	FlightBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_flight_bytes_total", Help: "Arrow Flight payload bytes, by service and direction (sent, received).",
	}, []string{"service", "direction"})
	// SandboxExecutions counts sandbox executions, by language and outcome (ok, error, timeout,
	// killed, refused…).
	SandboxExecutions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_sandbox_executions_total", Help: "Sandbox executions, by language and outcome.",
	}, []string{"language", "outcome"})
	// AutoMLTrials counts AutoML trials, by learner and outcome (ok, failed, pruned…).
	AutoMLTrials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vds_automl_trials_total", Help: "AutoML trials, by learner and outcome.",
	}, []string{"learner", "outcome"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		RPCs, RPCDuration, Jobs, JobDuration, JobsSubmitted, JobsInFlight, FlightBytes, SandboxExecutions, AutoMLTrials,
		queueDepth)
}

// QueueDepthFunc returns the number of jobs of one kind waiting or unacknowledged on the queue.
type QueueDepthFunc func(ctx context.Context) (uint64, error)

// queueDepthCollector asks the queue at scrape time, so the gauge is the broker's number, shared by
// every replica, not one process's view.
type queueDepthCollector struct {
	mu    sync.Mutex
	kinds map[string]QueueDepthFunc
	desc  *prometheus.Desc
}

var queueDepth = &queueDepthCollector{kinds: map[string]QueueDepthFunc{},
	desc: prometheus.NewDesc("vds_job_queue_depth", "Jobs of a kind waiting or in progress on the work queue (from JetStream).", []string{"kind"}, nil)}

// RegisterQueueDepth reports the queue depth of kind through fn at every scrape (the last
// registration of a kind wins).
func RegisterQueueDepth(kind string, fn QueueDepthFunc) {
	queueDepth.mu.Lock()
	defer queueDepth.mu.Unlock()
	queueDepth.kinds[kind] = fn
}

func (c *queueDepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueDepthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	kinds := make(map[string]QueueDepthFunc, len(c.kinds))
	for k, f := range c.kinds {
		kinds[k] = f
	}
	c.mu.Unlock()
	for k, f := range kinds {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := f(ctx)
		cancel()
		if err != nil {
			continue // the consumer does not exist yet, or NATS is away: no sample rather than a failed scrape
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k)
	}
}
