package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// TestMain lets a test run this binary as the real CLI (for the kill-and-restart test).
func TestMain(m *testing.M) {
	if os.Getenv("VDS_TEST_RUN_CLI") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// shared is one platform for the tests that only need a running server, as `vds up` runs it.
var shared struct {
	once sync.Once
	home string
	p    *mesh.Platform
	err  error
}

func platform(t *testing.T) (home, addr string) {
	t.Helper()
	shared.once.Do(func() {
		shared.home, shared.err = os.MkdirTemp("", "vds-cli-test-")
		if shared.err != nil {
			return
		}
		log := logging.New(io.Discard, "json", "warn")
		shared.p, shared.err = mesh.Up(context.Background(), mesh.Options{Home: shared.home, Log: log, Bootstrap: true})
	})
	if shared.err != nil {
		t.Fatalf("start platform: %v", shared.err)
	}
	return shared.home, shared.p.GRPCAddr
}

// cli runs the CLI in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, timeout time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func analyzeJSON(t *testing.T, file, target string, extra ...string) *orchestratorv1.AnalysisReport {
	t.Helper()
	home, addr := platform(t)
	args := append([]string{"analyze", file, "--target", target, "--format", "json", "--server", addr, "--home", home, "--no-progress"}, extra...)
	code, out, errs := cli(t, 3*time.Minute, args...)
	if code != 0 {
		t.Fatalf("vds analyze exited %d: %s", code, errs)
	}
	rep := &orchestratorv1.AnalysisReport{}
	if err := protojson.Unmarshal([]byte(out), rep); err != nil {
		t.Fatalf("stdout is not one AnalysisReport in protojson: %v\n%.2000s", err, out)
	}
	return rep
}

func column(rep *orchestratorv1.AnalysisReport, name string) *orchestratorv1.ReportColumn {
	for _, c := range rep.Dataset.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func drivers(rep *orchestratorv1.AnalysisReport) map[string]bool {
	m := map[string]bool{}
	for _, d := range rep.Drivers {
		m[d.Feature] = true
	}
	return m
}

func TestAnalyzeTelcoChurn(t *testing.T) {
	t.Parallel()
	rep := analyzeJSON(t, shareddata.Path(t, "tabular/telco_churn.csv"), "Churn", "--budget", "12s")
	if rep.Dataset.RowCount != 7043 || len(rep.Dataset.Columns) != 21 {
		t.Fatalf("dataset is %d rows x %d columns, want 7043 x 21", rep.Dataset.RowCount, len(rep.Dataset.Columns))
	}
	if c := column(rep, "TotalCharges"); c == nil || c.Type != "numeric" || c.MissingCount != 11 {
		t.Errorf("TotalCharges = %v, want numeric with 11 missing", c)
	}
	if c := column(rep, "customerID"); c == nil || c.Type != "identifier" {
		t.Errorf("customerID = %v, want identifier", c)
	}
	if drivers(rep)["customerID"] {
		t.Error("customerID is used as a driver")
	}
	m := rep.Model
	if m == nil || m.Metric != "roc_auc" || m.CvFolds != 5 || m.CvScore < 0.80 || m.CvScore > 0.95 {
		t.Fatalf("model = %v, want 5-fold roc_auc in [0.80, 0.95]", m)
	}
	if rep.PositiveClass != "Yes" {
		t.Errorf("positive class %q, want Yes (as the file spells it)", rep.PositiveClass)
	}
	for i := 1; i < len(rep.Drivers); i++ {
		if rep.Drivers[i].Importance > rep.Drivers[i-1].Importance {
			t.Fatalf("drivers are not strongest first at %d: %v", i, rep.Drivers[i-1:i+1])
		}
	}
	top := map[string]bool{}
	for _, d := range rep.Drivers[:min(5, len(rep.Drivers))] {
		top[d.Feature] = true
	}
	if !top["Contract"] && !top["tenure"] {
		t.Errorf("neither Contract nor tenure among the top 5 drivers: %v", rep.Drivers[:min(5, len(rep.Drivers))])
	}
	if len(rep.Findings) < 2 {
		t.Fatalf("only %d findings", len(rep.Findings))
	}
	for _, f := range rep.Findings {
		if strings.TrimSpace(f.Statement) == "" || len(f.Values) == 0 {
			t.Errorf("finding without a statement or numbers: %v", f)
		}
		if lo, ok := f.Values["ci_low"]; ok && lo == 0 && f.Values["ci_high"] == 0 {
			t.Errorf("finding %q reports a 0 to 0 interval", f.Statement)
		}
	}
	if len(rep.Charts) == 0 {
		t.Fatal("no charts")
	}
	for _, c := range rep.Charts {
		spec := c.VegaLite.AsMap()
		if _, ok := spec["mark"]; !ok {
			if _, ok := spec["layer"]; !ok {
				t.Errorf("chart %q is not a Vega-Lite unit or layer spec: keys %v", c.Title, keys(spec))
			}
		}
		if !strings.Contains(fmt.Sprint(spec["$schema"]), "vega-lite") {
			t.Errorf("chart %q has no Vega-Lite $schema", c.Title)
		}
	}
	if hasWarning(rep, "no better than") {
		t.Errorf("telco's model is reported as no better than the baseline: %q", rep.Warnings)
	}
	var sawID bool
	for _, w := range rep.Warnings {
		sawID = sawID || strings.Contains(w, "customerID")
	}
	if !sawID {
		t.Errorf("no warning says customerID was left out: %q", rep.Warnings)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestAnalyzeTitanicLeakage(t *testing.T) {
	t.Parallel()
	rep := analyzeJSON(t, shareddata.Path(t, "tabular/titanic.csv"), "survived", "--budget", "6s")
	if rep.Dataset.RowCount != 891 {
		t.Fatalf("rows = %d, want 891", rep.Dataset.RowCount)
	}
	if drivers(rep)["alive"] {
		t.Error("alive, a copy of the target, is used as a driver")
	}
	var said bool
	for _, w := range rep.Warnings {
		said = said || (strings.Contains(w, `"alive"`) && strings.Contains(w, "not used"))
	}
	if !said {
		t.Errorf("no warning says alive was left out: %q", rep.Warnings)
	}
	if c := column(rep, "age"); c == nil || c.MissingCount != 177 {
		t.Errorf("age = %v, want 177 missing", c)
	}
	// The multiple-testing finding says "passed", not "survived" (the target's name here).
	var fdr int
	for _, f := range rep.Findings {
		if f.Test != "benjamini_hochberg" {
			continue
		}
		fdr++
		tested, passed := f.Values["tested"], f.Values["passed"]
		want := fmt.Sprintf("%d of %d hypotheses passed the multiple-testing correction (Benjamini-Hochberg, false-discovery rate 5%%).", int(passed), int(tested))
		if f.Statement != want || tested < 1 || passed > tested {
			t.Errorf("multiple-testing finding %q %v, want %q", f.Statement, f.Values, want)
		}
	}
	if fdr != 1 {
		t.Errorf("%d multiple-testing findings, want 1", fdr)
	}
}

// Every messy file either analyses (with the reading its README expects) or fails with a clear message.
func TestAnalyzeMessyFiles(t *testing.T) {
	t.Parallel()
	home, addr := platform(t)
	cases := []struct {
		file, target string
		fail         string // expected error text; empty: must succeed
		check        func(t *testing.T, rep *orchestratorv1.AnalysisReport)
	}{
		{file: "empty.csv", target: "a", fail: "empty"},
		{file: "header_only.csv", target: "a", fail: "no rows"},
		{file: "all_null_column.csv", target: "score", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if c := column(rep, "empty_col"); c == nil || c.Type != "empty" || c.MissingCount != 200 {
				t.Errorf("empty_col = %v, want empty with 200 missing", c)
			}
		}},
		{file: "numeric_with_placeholders.csv", target: "y", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if c := column(rep, "x"); c == nil || c.Type != "numeric" || c.MissingCount != 18 {
				t.Errorf("x = %v, want numeric with 18 missing", c)
			}
		}},
		{file: "mixed_types.csv", target: "value", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if c := column(rep, "month"); c == nil || c.Type == "numeric" {
				t.Errorf("month = %v, want text or categorical", c)
			}
		}},
		{file: "semicolon_decimal_comma_latin1.csv", target: "population", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if c := column(rep, "surface_km2"); c == nil || c.Type != "numeric" {
				t.Errorf("surface_km2 = %v, want numeric", c)
			}
			if column(rep, "région") == nil {
				t.Errorf("no column région (Latin-1 header not decoded): %v", rep.Dataset.Columns)
			}
		}},
		{file: "utf16_bom_tabs.tsv", target: "length_cm", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if rep.Dataset.RowCount != 100 || len(rep.Dataset.Columns) != 3 {
				t.Errorf("shape %d x %d, want 100 x 3", rep.Dataset.RowCount, len(rep.Dataset.Columns))
			}
		}},
		{file: "stray_quote_crlf.csv", target: "price", fail: "no usable feature"},
		{file: "mixed_date_formats.csv", target: "amount", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if c := column(rep, "when"); c == nil || c.Type != "datetime" {
				t.Errorf("when = %v, want datetime", c)
			}
		}},
		{file: "constant_and_string_target.csv", target: "label", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if rep.Model.GetMetric() != "roc_auc" || (rep.PositiveClass != "yes" && rep.PositiveClass != "no") {
				t.Errorf("label is not treated as a binary target with classes yes/no: metric %q, positive class %q", rep.Model.GetMetric(), rep.PositiveClass)
			}
			if d := drivers(rep); d["const_nan"] || d["near_const"] {
				t.Errorf("constant columns used as drivers: %v", rep.Drivers)
			}
		}},
		{file: "duplicate_headers_ragged.csv", target: "c", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			seen := map[string]bool{}
			for _, c := range rep.Dataset.Columns {
				if c.Name == "" || seen[c.Name] {
					t.Errorf("column names are not unique and non-empty: %v", rep.Dataset.Columns)
				}
				seen[c.Name] = true
			}
		}},
		{file: "embedded_newlines.csv", target: "rating", fail: "no usable feature"},
		{file: "very_wide_2000_cols.csv", target: "f0", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			if len(rep.Dataset.Columns) != 2000 || rep.Dataset.RowCount != 50 {
				t.Errorf("shape %d x %d, want 50 x 2000", rep.Dataset.RowCount, len(rep.Dataset.Columns))
			}
			// 50 rows of noise: the model cannot beat predicting the class frequencies, and says so.
			if !hasWarning(rep, "no better than") {
				t.Errorf("no warning that the model is no better than the baseline (%s %v): %q", rep.Model.GetMetric(), rep.Model.GetCvScore(), rep.Warnings)
			}
		}},
		{file: "leading_zero_ids.csv", target: "spend", fail: "no usable feature"},
		{file: "currency_thousands.csv", target: "revenue", check: func(t *testing.T, rep *orchestratorv1.AnalysisReport) {
			for _, n := range []string{"revenue", "share"} {
				if c := column(rep, n); c == nil || c.Type != "numeric" {
					t.Errorf("%s = %v, want numeric", n, c)
				}
			}
		}},
	}
	entries, err := os.ReadDir(filepath.Dir(shareddata.Path(t, "messy/empty.csv")))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{"README.md": true}
	for _, c := range cases {
		covered[c.file] = true
	}
	for _, e := range entries {
		if !covered[e.Name()] {
			t.Errorf("messy file %s has no case here", e.Name())
		}
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			code, out, errs := cli(t, 2*time.Minute, "analyze", shareddata.Path(t, "messy/"+c.file), "--target", c.target,
				"--format", "json", "--server", addr, "--home", home, "--no-progress", "--budget", "3s")
			if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
				t.Fatalf("panic: %s", errs)
			}
			if c.fail != "" {
				if code != 1 || !strings.Contains(errs, c.fail) {
					t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, errs, c.fail)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			rep := &orchestratorv1.AnalysisReport{}
			if err := protojson.Unmarshal([]byte(out), rep); err != nil {
				t.Fatal(err)
			}
			c.check(t, rep)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"analyze"}, 2, "needs a data file"},
		{[]string{"analyze", csv}, 2, "--target is required"},
		{[]string{"analyze", csv, "other.csv", "--target", "a"}, 2, "one data file"},
		{[]string{"analyze", csv, "--target", "a", "--format", "xml"}, 2, "--format must be one of json, markdown"},
		{[]string{"analyze", csv, "--target", "a", "--budget", "-3s"}, 2, "--budget"},
		{[]string{"analyze", csv, "--target", "a", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"analyze", filepath.Join(dir, "missing.csv"), "--target", "a"}, 1, "no such file"},
		{[]string{"analyze", dir, "--target", "a"}, 1, "is a directory"},
		{[]string{"up", "extra"}, 2, "takes no arguments"},
		{[]string{"up", "--log-level", "loud"}, 2, `--log-level must be one of debug, info, warn, error, not "loud"`},
		{[]string{"up", "--log-format", "xml"}, 2, `--log-format must be json or text, not "xml"`},
		// Service settings reach vds up only as environment variables; the error says how.
		{[]string{"up", "--train-workers", "2"}, 2, "--train-workers is a setting of the ml service, not a flag of vds up; set it as an environment variable: VDS_TRAIN_WORKERS=VALUE vds up"},
		{[]string{"up", "--rate-limit=5"}, 2, "--rate-limit is a setting of the gateway service, not a flag of vds up; set it as an environment variable: VDS_RATE_LIMIT=VALUE vds up"},
		{[]string{"up", "--no-such-setting"}, 2, "flag provided but not defined: --no-such-setting"},
		{[]string{"analyze", csv, "-target"}, 2, "flag needs an argument: --target"},
		{[]string{"analyze", csv, "--target", "a", "-budget", "soon"}, 2, `invalid value "soon" for flag --budget`},
		{[]string{"analyze", csv, "--target", "a", "--budget", "5"}, 2, `invalid value "5" for flag --budget: not a duration: give a number with a unit, such as 30s, 5m or 1h30m`},
		{[]string{"analyze", csv, "--target", "a", "--server", "http://127.0.0.1:1"}, 2, "not a URL"},
		{[]string{"help", "frobnicate"}, 2, "not a command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, errs := cli(t, 10*time.Second, c.args...)
			if code != c.code || !strings.Contains(errs, c.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, errs, c.code, c.msg)
			}
		})
	}
	// A target that is not a column is refused by the server, naming the column.
	home, addr := platform(t)
	code, _, errs := cli(t, time.Minute, "analyze", csv, "--target", "nope", "--server", addr, "--home", home, "--no-progress")
	if code != 1 || !strings.Contains(errs, "nope") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the missing column", code, errs)
	}
	// Markdown is the default format.
	code, out, errs := cli(t, time.Minute, "analyze", shareddata.Path(t, "tabular/iris.csv"), "--target", "species", "--server", addr, "--home", home, "--no-progress", "--budget", "2s")
	if code != 0 || !strings.Contains(out, "# Analysis of species") || !strings.Contains(out, "log_loss") {
		t.Fatalf("markdown report: exit %d, stderr %q, stdout %.500q", code, errs, out)
	}
}

// Killing `vds up` (SIGKILL, no clean shutdown) and starting it again keeps datasets, models and reports.
func TestKillAndRestartKeepsState(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	// tryStart starts `vds up` on home and returns it once it prints its address, or the reason it
	// did not (with its stderr).
	tryStart := func() (*exec.Cmd, string, error) {
		cmd := exec.Command(os.Args[0], "up", "--home", home, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "warn")
		cmd.Env = append(os.Environ(), "VDS_TEST_RUN_CLI=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb logging.SyncBuffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			return nil, "", err
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		re := regexp.MustCompile(`gRPC front door:\s+(\S+)`)
		found := make(chan string, 1)
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[1]
				}
			}
		}()
		select {
		case addr := <-found:
			return cmd, addr, nil
		case <-exited:
			select {
			case addr := <-found:
				return cmd, addr, nil
			default:
			}
			_ = cmd.Wait()
			return nil, "", fmt.Errorf("vds up exited before it was up (%v); its stderr:\n%s", cmd.ProcessState, errb.String())
		case <-time.After(120 * time.Second):
			_ = cmd.Process.Kill()
			return nil, "", fmt.Errorf("vds up did not print its gRPC address within 120 s; its stderr:\n%s", errb.String())
		}
	}
	// A start that fails is logged and tried once more, so the log keeps the evidence; a second
	// failure fails the test.
	start := func() (*exec.Cmd, string) {
		cmd, addr, err := tryStart()
		if err != nil {
			t.Logf("first try: %v", err)
			if cmd, addr, err = tryStart(); err != nil {
				t.Fatal(err)
			}
		}
		return cmd, addr
	}
	cmd, addr := start()
	rep := func() *orchestratorv1.AnalysisReport {
		code, out, errs := cli(t, 2*time.Minute, "analyze", shareddata.Path(t, "tabular/iris.csv"), "--target", "species",
			"--format", "json", "--server", addr, "--home", home, "--no-progress", "--budget", "2s")
		if code != 0 {
			t.Fatalf("analyze: exit %d: %s", code, errs)
		}
		r := &orchestratorv1.AnalysisReport{}
		if err := protojson.Unmarshal([]byte(out), r); err != nil {
			t.Fatal(err)
		}
		return r
	}()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	_, addr = start()
	creds, err := mesh.LoadCredentials(home)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.WithAPIKey(creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: rep.Dataset.Id})
	if err != nil {
		t.Fatalf("dataset lost after restart: %v", err)
	}
	if ds.Dataset.GetName() != "iris.csv" {
		t.Errorf("dataset name %q after restart", ds.Dataset.GetName())
	}
	m, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: rep.Model.Id})
	if err != nil {
		t.Fatalf("model lost after restart: %v", err)
	}
	if m.Model.CvScore != rep.Model.CvScore {
		t.Errorf("model cv score %v after restart, %v before", m.Model.CvScore, rep.Model.CvScore)
	}
	got, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: rep.Id})
	if err != nil || len(got.Report.Findings) != len(rep.Findings) {
		t.Fatalf("report after restart: %v, %d findings (had %d)", err, len(got.Report.GetFindings()), len(rep.Findings))
	}
	// The restarted platform still reads the data over Flight.
	rdr, err := c.ReadDataset(ctx, &datasetsv1.DatasetQuery{DatasetId: rep.Dataset.Id, Columns: []string{"species"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	if rows != 150 {
		t.Fatalf("read %d rows over Flight after restart, want 150", rows)
	}
}

func hasWarning(rep *orchestratorv1.AnalysisReport, sub string) bool {
	for _, w := range rep.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestExplainUnavailable: an Unavailable status is told apart by where it came from: the platform
// going away mid-command (its GOAWAY), no platform at the address (a dial error), or a service of a
// running platform that says why it is unavailable (passed on as it is).
func TestExplainUnavailable(t *testing.T) {
	for _, tc := range []struct{ msg, want, not string }{
		{`closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: NO_ERROR, debug data: "graceful_stop"`,
			"ingest x.csv: the platform stopped while this command was waiting for it; the work it had started goes on", "--server"},
		{`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`,
			"ingest x.csv: the platform is not reachable (", "stopped while"},
		{"the ml service is unavailable: cannot connect to it; retry later", "ingest x.csv: the ml service is unavailable: cannot connect to it; retry later", "--server"},
	} {
		got := explain(status.Error(codes.Unavailable, tc.msg), "ingest x.csv").Error()
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
			t.Errorf("%q:\n got %q\nwant %q without %q", tc.msg, got, tc.want, tc.not)
		}
	}
	// A service that ends the call because it is stopping in order (a job watch at the end of vds
	// up) says so with a Stopping error, which reaches here through the gateway's rewording.
	stopping := status.Convert(grpcx.Stopping("watching job job_1 stopped: the service is stopping; the job goes on: watch it again")).Proto()
	stopping.Message = "the ingestion service is unavailable: " + stopping.Message
	if got := explain(status.FromProto(stopping).Err(), "analysis").Error(); !strings.Contains(got, "analysis: the platform stopped while this command was waiting for it") {
		t.Errorf("a Stopping error: %q", got)
	}
}
