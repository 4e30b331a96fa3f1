package tracetest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/libs/telemetry"
	"github.com/vdsproject/vds/services/mesh"
)

// TestJobThroughput measures how long each kind of job takes on one worker, from the platform's
// own job-duration histogram, by running whole analyses one after another on the embedded mesh.
// It is a measurement, not a check: it runs only with VDS_BENCH_OUT=<file> (see bench/ops/run.sh)
// and writes a Markdown table there.
func TestJobThroughput(t *testing.T) {
	out := os.Getenv("VDS_BENCH_OUT")
	if out == "" {
		t.Skip("set VDS_BENCH_OUT=file to measure job throughput (bench/ops/run.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	p, err := mesh.Up(ctx, mesh.Options{Home: t.TempDir(), Log: logging.New(io.Discard, "json", "error"), Bootstrap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	runs := []struct{ file, target string }{
		{"tabular/iris.csv", "species"}, {"tabular/tips.csv", "tip"}, {"tabular/titanic.csv", "survived"}, {"tabular/telco_churn.csv", "Churn"},
	}
	start := time.Now()
	for _, r := range runs {
		up, err := c.UploadFile(ctx, p.Creds.ProjectID, shareddata.Path(t, r.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
		sa, err := c.Orchestrator.StartAnalysis(ctx, &orchestratorv1.StartAnalysisRequest{
			Dataset: &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, Target: r.target})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitJob(ctx, sa.JobId, nil); err != nil {
			t.Fatalf("%s: %v", r.file, err)
		}
	}
	wall := time.Since(start)
	time.Sleep(500 * time.Millisecond) // the last run spans end just after the final event
	mfs, err := telemetry.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, mf := range mfs {
		if mf.GetName() != "vds_job_duration_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			kind, outcome := label(m, "kind"), label(m, "outcome")
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			mean := h.GetSampleSum() / float64(h.GetSampleCount())
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %.2f | %.1f |", kind, outcome, h.GetSampleCount(), mean, 60/mean))
		}
	}
	sort.Strings(rows)
	var b strings.Builder
	fmt.Fprintf(&b, "# Job throughput per worker (embedded platform)\n\n")
	fmt.Fprintf(&b, "Measured %s on %d CPUs (%s/%s), Go %s. Command: `bench/ops/run.sh`.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "Four analyses one after another (iris 150 rows, tips 244, titanic 891, telco_churn 7043; default\n")
	fmt.Fprintf(&b, "training budget), one job at a time (so each kind ran on one worker); %s wall time in all.\n", wall.Round(time.Second))
	fmt.Fprintf(&b, "Source: the `vds_job_duration_seconds` histogram of the platform itself.\n\n")
	fmt.Fprintf(&b, "| job kind | outcome | jobs | mean seconds | jobs/min per worker |\n|---|---|---|---|---|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n")
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
