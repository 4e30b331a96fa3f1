package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/services/mesh"
)

// TestBenchmarkSQL compares a group-by over a 1M-row dataset through the sandbox service (gRPC
// Execute: locked-down connection, views, Arrow IPC result) with DuckDB alone on the same Parquet
// file, 200 runs each, interleaved. It runs only when VDS_SANDBOX_SQL_BENCH names the results file
// (bench/sandbox/run.sh sets it).
func TestBenchmarkSQL(t *testing.T) {
	outFile := os.Getenv("VDS_SANDBOX_SQL_BENCH")
	if outFile == "" {
		t.Skip("set VDS_SANDBOX_SQL_BENCH=results-file to run the SQL benchmark")
	}
	ctx := context.Background()
	home := t.TempDir()
	p, err := mesh.Up(ctx, mesh.Options{Home: home, Bootstrap: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	src := filepath.Join(t.TempDir(), "million.parquet")
	if _, err := raw.Exec(fmt.Sprintf(`COPY (SELECT range AS id, range %% 100 AS grp, (range * 7919 %% 10007) / 10007.0 AS x, range * 13 %% 1000 AS y
		FROM range(1000000)) TO '%s' (FORMAT parquet)`, src)); err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		t.Fatal(err)
	}
	q := "SELECT grp, count(*) AS n, avg(x) AS mx, sum(y) AS sy FROM t GROUP BY grp ORDER BY grp"
	req := &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: q,
		Inputs: []*sandboxv1.Input{{Dataset: &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, Alias: "t"}}}
	viaService := func() time.Duration {
		start := time.Now()
		res, err := execute(t, c, req)
		if err != nil || res.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || res.tables[0].RowCount != 100 {
			t.Fatalf("%v %v", err, res.status)
		}
		return time.Since(start)
	}
	viaService() // caches the version's Parquet file locally, as in steady state
	cached, _ := filepath.Glob(filepath.Join(home, "cache", "sandbox", up.DatasetId+".v*.parquet"))
	if len(cached) != 1 {
		t.Fatalf("cached parquet: %v", cached)
	}
	alone := func() time.Duration {
		start := time.Now()
		rows, err := raw.Query(strings.Replace(q, "FROM t", "FROM read_parquet('"+cached[0]+"')", 1))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n != 100 {
			t.Fatalf("%d rows", n)
		}
		return time.Since(start)
	}
	const runs = 200
	var a, s []time.Duration
	for i := 0; i < runs; i++ {
		a = append(a, alone())
		s = append(s, viaService())
	}
	slices.Sort(a)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pa50, pa95, ps50, ps95 := ms(a[runs/2]), ms(a[runs*95/100]), ms(s[runs/2]), ms(s[runs*95/100])
	md := fmt.Sprintf(`# Sandbox SQL overhead

Group-by over a 1,000,000-row dataset (4 columns; 100 groups), %d runs each, interleaved. "DuckDB alone" is
duckdb-go on the same Parquet file with default settings; "sandbox service" is the full gRPC Execute call
(authorization, fresh locked-down DuckDB connection, view registration, Arrow IPC encoding, execution
record). Machine: %d CPUs, %s/%s, load average at the end %s (other work shares this machine). Command: `+"`bench/sandbox/run.sh`"+`. Generated %s.

| case | p50 ms | p95 ms | p50 ratio |
|---|---:|---:|---:|
| DuckDB alone | %.1f | %.1f | 1.00x |
| sandbox service (gRPC Execute) | %.1f | %.1f | %.2fx |
`, runs, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadAvg(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), pa50, pa95, ps50, ps95, ps50/pa50)
	t.Log(md)
	if err := os.WriteFile(outFile, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}
