package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/shareddata"
)

func TestTableName(t *testing.T) {
	for in, want := range map[string]string{"tips.csv": "tips", "dir/Sales 2024.tar.gz": "Sales_2024", "2024.csv": "t_2024", "a-b.parquet": "a_b"} {
		if got := tableName(in); got != want {
			t.Errorf("tableName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTableAliases(t *testing.T) {
	got := tableAliases([]string{"tips.csv", "other/tips.csv", "tips_2.csv", "a/tips.parquet", "b.csv"})
	want := []string{"tips", "tips_3", "tips_2", "tips_4", "b"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tableAliases = %v, want %v", got, want)
	}
}

func TestFailedOutputRE(t *testing.T) {
	m := failedOutputRE.FindAllStringSubmatch("saving out.csv failed: too large; storing fig.png failed: disk full", -1)
	if len(m) != 2 || m[0][2] != "out.csv" || m[0][3] != "too large" || m[1][2] != "fig.png" || m[1][3] != "disk full" {
		t.Errorf("matches %q", m)
	}
}

// fakeExec is a sandbox that "writes" good.csv and bad.parquet, each saved as a dataset version
// whose ingest runs afterwards: good's succeeds, bad's fails (as an unreadable Parquet file does).
type fakeExec struct {
	sandboxv1.UnimplementedSandboxServiceServer
	datasetsv1.UnimplementedDatasetServiceServer
}

func (fakeExec) Execute(_ *sandboxv1.ExecuteRequest, s grpc.ServerStreamingServer[sandboxv1.ExecuteResponse]) error {
	for _, ev := range []*sandboxv1.ExecuteResponse{
		{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "good.csv", SavedAs: &commonv1.DatasetRef{DatasetId: "ds_good", Version: 1}}}},
		{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "bad.parquet", SavedAs: &commonv1.DatasetRef{DatasetId: "ds_bad", Version: 1}}}},
		{Event: &sandboxv1.ExecuteResponse_Status{Status: &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK, WallMs: 5}}},
	} {
		ev.ExecutionId = "exe_1"
		if err := s.Send(ev); err != nil {
			return err
		}
	}
	return nil
}

func (fakeExec) GetVersion(_ context.Context, r *datasetsv1.GetVersionRequest) (*datasetsv1.GetVersionResponse, error) {
	v := &datasetsv1.DatasetVersion{DatasetId: r.DatasetId, Version: r.Version, State: datasetsv1.VersionState_VERSION_STATE_READY}
	if r.DatasetId == "ds_bad" {
		v.State, v.Error = datasetsv1.VersionState_VERSION_STATE_FAILED, "the file is not Parquet (no PAR1 footer)"
	}
	return &datasetsv1.GetVersionResponse{Version: v}, nil
}

func startFakeExec(t *testing.T) *client.Client {
	t.Helper()
	return startFake(t, fakeExec{})
}

// startFake serves sb as the sandbox and fakeExec's GetVersion (every version ready but ds_bad's).
func startFake(t *testing.T, sb sandboxv1.SandboxServiceServer) *client.Client {
	t.Helper()
	s := grpc.NewServer()
	sandboxv1.RegisterSandboxServiceServer(s, sb)
	datasetsv1.RegisterDatasetServiceServer(s, fakeExec{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	c, err := client.Dial(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestExecFailedOutputIngest: an output table whose ingest fails is reported as not saved, with
// the reason, and the command fails; the table that was ingested is reported saved.
func TestExecFailedOutputIngest(t *testing.T) {
	c := startFakeExec(t)
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	err := runExec(ctx, c, &sandboxv1.ExecuteRequest{}, nil, "text", "", &stdout, &stderr)
	want := "output table bad.parquet was not saved: the ingest of dataset ds_bad v1 failed: the file is not Parquet (no PAR1 footer)"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "good.csv") {
		t.Errorf("error %v, want one containing %q", err, want)
	}
	if !strings.Contains(stderr.String(), "saved good.csv as dataset ds_good v1\n") || strings.Contains(stderr.String(), "saved bad.parquet") {
		t.Errorf("stderr %q", stderr.String())
	}
	stdout.Reset()
	err = runExec(ctx, c, &sandboxv1.ExecuteRequest{}, nil, "json", "", &stdout, &stderr)
	var o struct {
		Tables []struct {
			Name      string `json:"name"`
			State     string `json:"state"`
			SaveError string `json:"save_error"`
		} `json:"tables"`
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &o); jerr != nil || err == nil || len(o.Tables) != 2 ||
		o.Tables[0].State != "ready" || o.Tables[0].SaveError != "" ||
		o.Tables[1].State != "failed" || !strings.Contains(o.Tables[1].SaveError, "not Parquet") {
		t.Errorf("json: err %v, tables %+v (%v)", err, o.Tables, jerr)
	}
}

// dupExec is a sandbox whose execution saves new.csv as a new dataset and same.csv, whose bytes the
// ingestion recognised, as the existing version ds_old v2.
type dupExec struct{ fakeExec }

func (dupExec) Execute(_ *sandboxv1.ExecuteRequest, s grpc.ServerStreamingServer[sandboxv1.ExecuteResponse]) error {
	for _, ev := range []*sandboxv1.ExecuteResponse{
		{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "new.csv", SavedAs: &commonv1.DatasetRef{DatasetId: "ds_new", Version: 1}}}},
		{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "same.csv", SavedAs: &commonv1.DatasetRef{DatasetId: "ds_old", Version: 2}, Duplicate: true}}},
		{Event: &sandboxv1.ExecuteResponse_Status{Status: &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK, WallMs: 5}}},
	} {
		ev.ExecutionId = "exe_1"
		if err := s.Send(ev); err != nil {
			return err
		}
	}
	return nil
}

// TestExecDuplicateOutput: an output table whose bytes equal an existing dataset version is reported
// as that version, not as a new dataset (text), and marked "duplicate" (JSON).
func TestExecDuplicateOutput(t *testing.T) {
	c := startFake(t, dupExec{})
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if err := runExec(ctx, c, &sandboxv1.ExecuteRequest{}, nil, "text", "", &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	want := "saved new.csv as dataset ds_new v1\nsame.csv has the same bytes as existing dataset ds_old v2 (no new version)\nexecution exe_1: ok in 5ms\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	stdout.Reset()
	if err := runExec(ctx, c, &sandboxv1.ExecuteRequest{}, nil, "json", "", &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var o struct {
		Tables []map[string]any `json:"tables"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &o); err != nil || len(o.Tables) != 2 {
		t.Fatalf("json: %v, %s", err, stdout.String())
	}
	if _, ok := o.Tables[0]["duplicate"]; ok || o.Tables[1]["duplicate"] != true || o.Tables[1]["state"] != "ready" {
		t.Errorf("json tables %v, want only same.csv marked duplicate", o.Tables)
	}
}

// TestExecInputNames: two inputs named tips.csv are the tables tips and tips_2, and stderr says
// which file is which table (it named only the renamed one); JSON lists every input with its
// table; a failed execution's reason is printed once (its status line), not repeated as an error.
func TestExecInputNames(t *testing.T) {
	home, addr := platform(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	b, err := os.ReadFile(tips)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	other := filepath.Join(t.TempDir(), "tips.csv")
	if err := os.WriteFile(other, []byte(lines[0]+lines[1]+lines[2]), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--server", addr, "--home", home}
	code, stdout, stderr := cli(t, time.Minute, append([]string{"exec", tips, other, "--sql",
		"SELECT (SELECT count(*) FROM tips) AS a, (SELECT count(*) FROM tips_2) AS b"}, flags...)...)
	if want := "2 inputs are named tips: " + tips + " is table tips, " + other + " is table tips_2\n"; code != 0 || stdout != "a\tb\n244\t2\n" || !strings.HasPrefix(stderr, want) {
		t.Errorf("two tips.csv: exit %d, stdout %q, stderr %q, want it to begin with %q", code, stdout, stderr, want)
	}
	code, stdout, stderr = cli(t, time.Minute, append([]string{"exec", tips, other, "--format", "json", "--sql", "SELECT 1 AS one"}, flags...)...)
	var o struct {
		Inputs []struct {
			Input     string `json:"input"`
			Table     string `json:"table"`
			DatasetID string `json:"dataset_id"`
			Version   int32  `json:"version"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(stdout), &o); err != nil || code != 0 || len(o.Inputs) != 2 ||
		o.Inputs[0].Input != tips || o.Inputs[0].Table != "tips" || o.Inputs[1].Input != other || o.Inputs[1].Table != "tips_2" ||
		!strings.HasPrefix(o.Inputs[1].DatasetID, "ds_") || o.Inputs[1].Version != 1 {
		t.Errorf("json inputs: exit %d (%v) %+v; stderr %s", code, err, o.Inputs, stderr)
	}
	code, _, stderr = cli(t, time.Minute, append([]string{"exec", tips, "--sql", "SELECT no_such_column FROM tips"}, flags...)...)
	if code != 1 || strings.Count(stderr, "Binder Error") != 1 || strings.Contains(stderr, "vds: ") {
		t.Errorf("failed SQL: exit %d, stderr %q, want the reason once", code, stderr)
	}
}

// TestExec runs `vds exec` against a running platform: SQL and Python over tips.csv, the JSON
// shape, the exit status of a stopped execution and the usage errors.
func TestExec(t *testing.T) {
	home, addr := platform(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	base := []string{"exec", tips, "--server", addr, "--home", home, "--format", "json"}
	type out struct {
		Stdout string `json:"stdout"`
		Tables []struct {
			Rows    []map[string]any `json:"rows"`
			SavedAs *struct {
				DatasetID string `json:"dataset_id"`
			} `json:"saved_as"`
		} `json:"tables"`
		Status struct {
			Outcome string `json:"outcome"`
		} `json:"status"`
	}
	parse := func(s string) out {
		var o out
		if err := json.Unmarshal([]byte(s), &o); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return o
	}
	// pandas: tips.groupby("smoker").size() -> No 151, Yes 93 (ingestion reads Yes/No as a boolean).
	code, stdout, stderr := cli(t, time.Minute, append(base, "--sql", "SELECT smoker, count(*) AS n FROM tips GROUP BY smoker ORDER BY smoker", "--save")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := parse(stdout)
	if len(o.Tables) != 2 || len(o.Tables[0].Rows) != 2 || o.Tables[0].Rows[0]["smoker"] != false || o.Tables[0].Rows[0]["n"] != float64(151) ||
		o.Tables[0].Rows[1]["n"] != float64(93) || o.Tables[1].SavedAs == nil {
		t.Errorf("sql result %+v", o)
	}
	code, stdout, stderr = cli(t, time.Minute, append(base, "--python", "import vds\nprint(len(vds.load('tips')))")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if o := parse(stdout); o.Stdout != "244\n" || o.Status.Outcome != "OUTCOME_OK" {
		t.Errorf("python result %+v", o)
	}
	// Text mode: output without a final newline does not run into the status line.
	code, stdout, stderr = cli(t, time.Minute, "exec", tips, "--server", addr, "--home", home, "--python", "import sys\nsys.stdout.write('no newline at end')")
	if code != 0 || stdout != "no newline at end" || !strings.HasPrefix(stderr, "\nexecution exe_") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the status on a line of its own", code, stdout, stderr)
	}
	// --artifacts DIR saves the figure and the Vega-Lite spec exactly as the sandbox wrote them
	// (their SHA-256, computed inside the sandbox, is printed on stdout).
	dir := filepath.Join(t.TempDir(), "art")
	chart := `import vds, json, hashlib
import matplotlib.pyplot as plt
by = vds.load("tips").groupby("day", as_index=False).tip.sum()
plt.bar(by.day, by.tip)
plt.savefig("tips.png")
with open("tips.vl.json", "w") as f:
    json.dump({"mark": "bar", "data": {"values": by.to_dict("records")}}, f)
for n in ("tips.png", "tips.vl.json"):
    print(n, hashlib.sha256(open(n, "rb").read()).hexdigest())
`
	code, stdout, stderr = cli(t, time.Minute, append(base, "--python", chart, "--artifacts", dir)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o = parse(stdout)
	for _, name := range []string{"tips.png", "tips.vl.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		sum := sha256.Sum256(b)
		if err != nil || !strings.Contains(o.Stdout, name+" "+hex.EncodeToString(sum[:])+"\n") {
			t.Errorf("--artifacts %s: %v, sha256 %x; the sandbox printed %q", name, err, sum, o.Stdout)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Errorf("--artifacts folder holds %d entries, want the 2 artifacts", len(left))
	}
	code, stdout, _ = cli(t, time.Minute, append(base, "--python", "import time\ntime.sleep(60)", "--timeout", "1s")...)
	if o := parse(stdout); code == 0 || o.Status.Outcome != "OUTCOME_TIMEOUT" {
		t.Errorf("timeout: exit %d, %+v", code, o)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", tips}, "exactly one of --sql"},
		{[]string{"exec", tips, "--sql", "SELECT 1", "--python", "print(1)"}, "exactly one of --sql"},
		{[]string{"exec", "--sql", "SELECT 1"}, "at least one data file"},
		{[]string{"exec", "no-such-file.csv", "--python", "print(1)", "--server", addr, "--home", home}, "neither a readable file nor a dataset ID"},
		// Refused by the service (code over its size limit), and still recorded.
		{[]string{"exec", tips, "--sql", "SELECT 1" + strings.Repeat(" ", 100000), "--server", addr, "--home", home}, "(recorded as execution exe_"},
	} {
		code, _, stderr := cli(t, time.Minute, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// Over the real platform: a Python output with the same bytes as one saved before is reported as
// that dataset version, with no new version made.
func TestExecDuplicateOutputLive(t *testing.T) {
	home, addr := platform(t)
	// Bytes of this run only (the platform is shared by the tests of this package).
	code := fmt.Sprintf("open('same.csv', 'w').write('run,n\\n%d,1\\n')", time.Now().UnixNano())
	exit, _, stderr := cli(t, time.Minute, "exec", "--python", code, "--server", addr, "--home", home)
	m := regexp.MustCompile(`(?m)^saved same.csv as dataset (ds_\w+) v1$`).FindStringSubmatch(stderr)
	if exit != 0 || m == nil {
		t.Fatalf("first run: exit %d, stderr %q", exit, stderr)
	}
	exit, _, stderr = cli(t, time.Minute, "exec", "--python", code, "--server", addr, "--home", home)
	want := "same.csv has the same bytes as existing dataset " + m[1] + " v1 (no new version)\n"
	if exit != 0 || !strings.Contains(stderr, want) || strings.Contains(stderr, "saved same.csv") {
		t.Errorf("second run: exit %d, stderr %q, want %q", exit, stderr, want)
	}
}

// The same over the real platform: a Python output the ingestion cannot read is reported as not
// saved with the ingestion's reason (exit 1); the good output beside it is saved.
func TestExecFailedOutputIngestLive(t *testing.T) {
	home, addr := platform(t)
	code, _, stderr := cli(t, time.Minute, "exec", "--python",
		"open('good.csv', 'w').write('a,b\\n1,2\\n')\nopen('bad.parquet', 'wb').write(b'not parquet at all')", "--server", addr, "--home", home)
	if code != 1 || !strings.Contains(stderr, "saved good.csv as dataset ds_") || strings.Contains(stderr, "saved bad.parquet") ||
		!regexp.MustCompile(`output table bad.parquet was not saved: the ingest of dataset ds_\w+ v1 failed: \S`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestExecSaveName: --name chooses the name of the dataset a --sql --save result becomes (it was
// always sql-result-<execution>.parquet); --name without --save, or with --python, is a usage error
// that says what to do; a name that is not a plain name is refused by the service naming it.
func TestExecSaveName(t *testing.T) {
	home, addr := platform(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	flags := []string{"--server", addr, "--home", home}
	code, _, stderr := cli(t, time.Minute, append([]string{"exec", tips, "--sql", "SELECT day, sum(tip) AS tip FROM tips GROUP BY day", "--save", "--name", "tips by day"}, flags...)...)
	m := regexp.MustCompile(`(?m)^saved tips by day as dataset (ds_\w+) v1$`).FindStringSubmatch(stderr)
	if code != 0 || m == nil {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	d, err := sharedClient(t).Datasets.GetDataset(context.Background(), &datasetsv1.GetDatasetRequest{DatasetId: m[1]})
	if err != nil || d.Dataset.Name != "tips by day" {
		t.Errorf("dataset %s: %v, name %q, want \"tips by day\"", m[1], err, d.GetDataset().GetName())
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"exec", tips, "--sql", "SELECT 1", "--name", "x"}, 2, "--name is the name of the saved SQL result: add --save"},
		{[]string{"exec", tips, "--python", "print(1)", "--save", "--name", "x"}, 2, `a Python execution names each output table in its code: vds.save(df, "NAME")`},
		{append([]string{"exec", tips, "--sql", "SELECT 1", "--save", "--name", "../x"}, flags...), 1,
			`save_name: "../x" is not a dataset name: use 1 to 100 letters, digits, '_', '.', '-' or spaces`},
	} {
		code, _, stderr := cli(t, time.Minute, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
