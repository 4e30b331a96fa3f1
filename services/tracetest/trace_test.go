package tracetest

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/libs/telemetry"
	"github.com/vdsproject/vds/services/mesh"
)

// TestAnalysisIsOneTrace runs upload → ingest → analyse (profile, train) through the gateway's front
// door under one client span, with every span of the process recorded in memory, and checks that
// the flow is one connected trace: every span's parent is in the trace, the gateway, ingestion,
// profiling, ml and orchestrator all served calls in it, and each job's worker span is the child of
// the span that published it on NATS.
func TestAnalysisIsOneTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); tp.Shutdown(context.Background()) })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &logging.SyncBuffer{}
	p, err := mesh.Up(ctx, mesh.Options{Home: t.TempDir(), Log: logging.New(logs, "json", "info"), Bootstrap: true})
	if err != nil {
		t.Fatalf("start platform: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey),
		client.WithDialOptions(grpc.WithStatsHandler(grpcx.ClientStatsHandler())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, root := tp.Tracer("tracetest").Start(ctx, "analysis")
	traceID := root.SpanContext().TraceID()
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, shareddata.Path(t, "tabular/iris.csv"), nil)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	sa, err := c.Orchestrator.StartAnalysis(ctx, &orchestratorv1.StartAnalysisRequest{
		Dataset: &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, Target: "species", BudgetSeconds: 3})
	if err != nil {
		t.Fatalf("start analysis: %v", err)
	}
	if _, err := c.WaitJob(ctx, sa.JobId, nil); err != nil {
		t.Fatalf("analysis: %v", err)
	}
	root.End()

	// A worker's span ends just after the job's final event, which WaitJob returns on: wait until
	// the trace has no dangling parent (or give up and report what dangles).
	var spans map[trace.SpanID]tracetest.SpanStub
	var dangling []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		spans, dangling = collect(exp.GetSpans(), traceID, root.SpanContext().SpanID())
		if len(dangling) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(dangling) > 0 {
		t.Errorf("spans whose parent is not in the trace (the trace is broken there):\n  %s", strings.Join(dangling, "\n  "))
	}

	// Every service on the path served at least one call inside this trace.
	served := map[string][]string{}
	for _, s := range spans {
		if s.SpanKind != trace.SpanKindServer {
			continue
		}
		if svc := attr(s, telemetry.ServiceKey); svc != "" {
			served[svc] = append(served[svc], s.Name)
		}
	}
	for _, svc := range []string{"gateway", "ingestion", "orchestrator", "profiling", "ml"} {
		if len(served[svc]) == 0 {
			t.Errorf("no server span of %s in the trace; services seen: %v", svc, keys(served))
		}
	}
	// Each backend call through the front door is a child of the gateway's span.
	for _, s := range spans {
		if s.Name == "vds.datasets.v1.DatasetService/Upload" && attr(s, telemetry.ServiceKey) == "ingestion" {
			if got := ancestorService(spans, s); got != "gateway" {
				t.Errorf("ingestion's Upload span descends from %q, want the gateway's span", got)
			}
		}
	}

	// The hop over NATS: for each job kind, the worker's span is the child of the publishing span,
	// which sits under a call served by the submitting service.
	for _, tc := range []struct{ kind, submitter string }{
		{"ingest", "ingestion"}, {"analyze", "orchestrator"}, {"profile", "profiling"}, {"train", "ml"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			var run *tracetest.SpanStub
			for _, s := range spans {
				if s.Name == "jobs.run "+tc.kind && s.SpanKind == trace.SpanKindConsumer {
					run = &s
					break
				}
			}
			if run == nil {
				t.Fatalf("no jobs.run %s span in the trace", tc.kind)
			}
			if got := attr(*run, "vds.job.outcome"); got != "succeeded" {
				t.Errorf("jobs.run %s outcome = %q, want succeeded", tc.kind, got)
			}
			pub, ok := spans[run.Parent.SpanID()]
			if !ok || pub.Name != "jobs.submit "+tc.kind || pub.SpanKind != trace.SpanKindProducer {
				t.Fatalf("parent of jobs.run %s is %q, want the producer span jobs.submit %s", tc.kind, pub.Name, tc.kind)
			}
			if attr(pub, "vds.job.id") != attr(*run, "vds.job.id") || attr(pub, "vds.job.id") == "" {
				t.Errorf("job id of the publish (%q) and of the run (%q) differ", attr(pub, "vds.job.id"), attr(*run, "vds.job.id"))
			}
			if got := ancestorService(spans, pub); got != tc.submitter {
				t.Errorf("jobs.submit %s is under a call served by %q, want %s", tc.kind, got, tc.submitter)
			}
		})
	}
	// The analysis job's worker calls profiling and ml over gRPC: their calls descend from it.
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindServer && (s.Name == "vds.ml.v1.MLService/StartTraining" || s.Name == "vds.profiling.v1.ProfilingService/StartProfile") {
			if !hasAncestor(spans, s, "jobs.run analyze") {
				t.Errorf("%s does not descend from the analysis job's span", s.Name)
			}
		}
	}
	// The logs join the trace (the workers' records carry its trace ID) and hold no secrets or
	// row values.
	joined := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"trace_id":"`+traceID.String()+`"`) && strings.Contains(line, `"msg":"job succeeded"`) {
			joined++
		}
	}
	if joined < 4 {
		t.Errorf("%d 'job succeeded' log records carry the analysis's trace_id, want one per job (4)", joined)
	}
	for _, secret := range []string{p.Creds.APIKey, p.Creds.Password, "versicolor", "virginica"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs contain a secret or a row value (%.6s…)", secret)
		}
	}
	if t.Failed() || testing.Verbose() {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name+" ["+attr(s, telemetry.ServiceKey)+"]")
		}
		sort.Strings(names)
		t.Logf("%d spans in the trace:\n  %s", len(spans), strings.Join(names, "\n  "))
	}
}

// collect returns the spans of one trace by ID, and the ones whose parent is neither in it nor the
// root (which ends last and is recorded too).
func collect(all tracetest.SpanStubs, id trace.TraceID, rootID trace.SpanID) (map[trace.SpanID]tracetest.SpanStub, []string) {
	spans := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range all {
		if s.SpanContext.TraceID() == id {
			spans[s.SpanContext.SpanID()] = s
		}
	}
	var dangling []string
	for _, s := range spans {
		if s.SpanContext.SpanID() == rootID {
			continue
		}
		if _, ok := spans[s.Parent.SpanID()]; !ok {
			dangling = append(dangling, s.Name)
		}
	}
	if _, ok := spans[rootID]; !ok {
		dangling = append(dangling, "(the root span itself)")
	}
	sort.Strings(dangling)
	return spans, dangling
}

func attr[K ~string](s tracetest.SpanStub, k K) string {
	for _, a := range s.Attributes {
		if string(a.Key) == string(k) {
			return a.Value.Emit()
		}
	}
	return ""
}

// ancestorService is the vds service of the nearest server span above s.
func ancestorService(spans map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub) string {
	for i := 0; i < 100; i++ {
		p, ok := spans[s.Parent.SpanID()]
		if !ok {
			return ""
		}
		if p.SpanKind == trace.SpanKindServer {
			return attr(p, telemetry.ServiceKey)
		}
		s = p
	}
	return ""
}

func hasAncestor(spans map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub, name string) bool {
	for i := 0; i < 100; i++ {
		p, ok := spans[s.Parent.SpanID()]
		if !ok {
			return false
		}
		if p.Name == name {
			return true
		}
		s = p
	}
	return false
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
