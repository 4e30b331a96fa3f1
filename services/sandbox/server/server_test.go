package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
)

type collected struct {
	stdout, stderr string
	tables         []*sandboxv1.Table
	artifacts      []*sandboxv1.ExecutionArtifact
	status         *sandboxv1.Status
	id             string
}

// execute runs one request to its end. When it is refused, out.id is the execution ID from the
// "vds-execution-id" trailer (the refusal's record), if any.
func execute(t *testing.T, c *client.Client, req *sandboxv1.ExecuteRequest) (*collected, error) {
	t.Helper()
	st, err := c.Sandbox.Execute(context.Background(), req)
	if err != nil {
		return nil, err
	}
	out := &collected{}
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if v := st.Trailer().Get("vds-execution-id"); len(v) == 1 {
				out.id = v[0]
			}
			return out, err
		}
		out.id = ev.ExecutionId
		switch e := ev.Event.(type) {
		case *sandboxv1.ExecuteResponse_Stdout:
			out.stdout += e.Stdout
		case *sandboxv1.ExecuteResponse_Stderr:
			out.stderr += e.Stderr
		case *sandboxv1.ExecuteResponse_Table:
			out.tables = append(out.tables, e.Table)
		case *sandboxv1.ExecuteResponse_Artifact:
			out.artifacts = append(out.artifacts, e.Artifact)
		case *sandboxv1.ExecuteResponse_Status:
			out.status = e.Status
		}
	}
}

// TestTipsGroupBy is the acceptance case: Python groups tips.csv by day, writes a table and a
// chart; both come back, the table is a new dataset version whose lineage names the input and the
// code, and the execution is recorded. Reference means computed with pandas 1.5.3:
// pd.read_csv("tips.csv").groupby("day").total_bill.mean().round(4) -> Fri 17.1516, Sat 20.4414,
// Sun 21.41, Thur 17.6827.
func TestTipsGroupBy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	p, c := f.p, f.c
	in := upload(t, c, p.Creds.ProjectID, shareddata.Path(t, "tabular/tips.csv"))
	code := `import vds
import matplotlib.pyplot as plt
df = vds.load("tips")
by = df.groupby("day", as_index=False).total_bill.mean().round(4)
print(by.to_csv(index=False), end="")
by.to_csv("by_day.csv", index=False)
plt.bar(by.day, by.total_bill)
plt.savefig("by_day.png")
import json
with open("by_day.vl.json", "w") as f:
    json.dump({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "bar",
               "data": {"values": by.to_dict("records")},
               "encoding": {"x": {"field": "day"}, "y": {"field": "total_bill", "type": "quantitative"}}}, f)
import hashlib, sys
for name in ("by_day.png", "by_day.vl.json"):
    print(name, hashlib.sha256(open(name, "rb").read()).hexdigest(), file=sys.stderr)
`
	res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON, Code: code,
		Inputs: []*sandboxv1.Input{{Dataset: in, Alias: "tips"}}})
	if os.Getenv("CI") != "true" && err != nil && strings.Contains(err.Error(), "not available") {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK {
		t.Fatalf("status %v; stderr %s", res.status, res.stderr)
	}
	want := "day,total_bill\nFri,17.1516\nSat,20.4414\nSun,21.41\nThur,17.6827\n"
	if res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
	if len(res.artifacts) != 2 || res.artifacts[0].Name != "by_day.png" || res.artifacts[0].ContentType != "image/png" || res.artifacts[0].SizeBytes < 1000 ||
		res.artifacts[1].Name != "by_day.vl.json" || res.artifacts[1].ContentType != "application/vnd.vegalite+json" {
		t.Errorf("artifacts %v, want the PNG by_day.png and the Vega-Lite spec by_day.vl.json", res.artifacts)
	}
	// Both artifacts download byte for byte as the sandbox wrote them (SHA-256 printed inside it).
	for _, a := range res.artifacts {
		b, meta, err := getArtifact(ctx, c, res.id, a.Id)
		if err != nil {
			t.Fatalf("GetArtifact %s: %v", a.Name, err)
		}
		sum := sha256.Sum256(b)
		if want := a.Name + " " + hex.EncodeToString(sum[:]); !strings.Contains(res.stderr, want+"\n") || int64(len(b)) != a.SizeBytes || !proto.Equal(meta, a) {
			t.Errorf("downloaded %s: %d bytes, sha256 %x, metadata %v; the sandbox reported %q and %v", a.Name, len(b), sum, meta, res.stderr, a)
		}
		switch a.Name {
		case "by_day.png":
			if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("by_day.png does not start with the PNG signature: % x", b[:min(8, len(b))])
			}
		case "by_day.vl.json":
			var spec struct {
				Data struct {
					Values []struct {
						Day       string  `json:"day"`
						TotalBill float64 `json:"total_bill"`
					} `json:"values"`
				} `json:"data"`
			}
			if err := json.Unmarshal(b, &spec); err != nil || len(spec.Data.Values) != 4 || spec.Data.Values[1].Day != "Sat" || spec.Data.Values[1].TotalBill != 20.4414 {
				t.Errorf("by_day.vl.json: %v %+v", err, spec)
			}
		}
	}
	// The REST mapping streams the same bytes: one JSON object per line, data in base64.
	{
		png := res.artifacts[0]
		hreq, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.HTTPURL+"/v1/executions/"+res.id+"/artifacts/"+png.Id, nil)
		hreq.Header.Set("x-api-key", p.Creds.APIKey)
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		dec := json.NewDecoder(resp.Body)
		for {
			var line struct {
				Result struct {
					Data []byte `json:"data"`
				} `json:"result"`
				Error any `json:"error"`
			}
			if err := dec.Decode(&line); err == io.EOF {
				break
			} else if err != nil || line.Error != nil {
				t.Fatalf("REST GetArtifact: %v %v", err, line.Error)
			}
			got = append(got, line.Result.Data...)
		}
		resp.Body.Close()
		sum := sha256.Sum256(got)
		if resp.StatusCode != http.StatusOK || !strings.Contains(res.stderr, png.Name+" "+hex.EncodeToString(sum[:])+"\n") {
			t.Errorf("REST GetArtifact: HTTP %d, %d bytes, sha256 %x", resp.StatusCode, len(got), sum)
		}
	}
	// Unknown, misplaced and foreign artifacts are NotFound; a malformed ID is InvalidArgument.
	stranger := strangerClient(t, p.GRPCAddr)
	for _, tc := range []struct {
		name       string
		c          *client.Client
		exe, artID string
		want       codes.Code
	}{
		{"unknown artifact", c, res.id, ids.New(ids.Object), codes.NotFound},
		{"unknown execution", c, ids.New(ids.Execution), res.artifacts[0].Id, codes.NotFound},
		{"stranger", stranger, res.id, res.artifacts[0].Id, codes.NotFound},
		{"malformed artifact id", c, res.id, "../x", codes.InvalidArgument},
	} {
		if _, _, err := getArtifact(ctx, tc.c, tc.exe, tc.artID); status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if len(res.tables) != 1 || res.tables[0].SavedAs.GetDatasetId() == "" {
		t.Fatalf("tables %v, want by_day.csv saved as a dataset", res.tables)
	}
	out := res.tables[0].SavedAs
	ds, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: out.DatasetId})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Dataset.Name != "by_day.csv" {
		t.Errorf("saved dataset name %q", ds.Dataset.Name)
	}
	lin, err := c.Lineage.GetLineage(ctx, &lineagev1.GetLineageRequest{ArtifactId: out.DatasetId + ".v1", Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	var gotCode bool
	for _, e := range lin.Edges {
		// The raw upload's edge (upl_…) is ingestion's own record, written when its ingest job ends,
		// which may be before or after this read: only the sandbox's edges are checked here.
		if e.ToId == out.DatasetId+".v1" && !strings.HasPrefix(e.FromId, "upl_") {
			from = append(from, e.FromId)
			gotCode = gotCode || e.Params["code"] == code
		}
	}
	slices.Sort(from)
	wantFrom := []string{in.DatasetId + ".v1", res.id}
	slices.Sort(wantFrom)
	if !slices.Equal(from, wantFrom) || !gotCode {
		t.Errorf("lineage into the saved table from %v (code recorded %v), want %v", from, gotCode, wantFrom)
	}
	rec, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: res.id})
	if err != nil {
		t.Fatal(err)
	}
	e := rec.Execution
	if e.Code != code || e.UserId == "" || len(e.Inputs) != 1 || e.Inputs[0].Dataset.DatasetId != in.DatasetId || e.Limits.GetTimeoutMs() == 0 ||
		e.Status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || len(e.Outputs) != 1 || len(e.Artifacts) != 2 || e.Status.GetCpuMs() <= 0 || e.Status.GetPeakMemoryBytes() <= 0 {
		t.Errorf("execution record incomplete: %v", e)
	}
	// A hostile execution through the service is stopped, and the next one works.
	bomb, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: "while True:\n    print('x' * 1000)", Limits: &sandboxv1.Limits{MaxOutputBytes: 10000}})
	if err != nil || bomb.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT || len(bomb.stdout) != 10000 {
		t.Errorf("stdout flood: %v %v, %d bytes", err, bomb.status, len(bomb.stdout))
	}
	next, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON, Code: "print(6*7)"})
	if err != nil || next.stdout != "42\n" {
		t.Errorf("next execution: %v %q", err, next.stdout)
	}
	// vds.save with a name that is not an output name fails the execution with the reason (it
	// used to finish OK and save nothing).
	bad, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: "import vds\ndf = vds.load('tips')\nvds.save(df, '..')\nprint('saved')", Inputs: []*sandboxv1.Input{{Dataset: in, Alias: "tips"}}})
	if err != nil || bad.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_ERROR || !strings.Contains(bad.status.GetMessage(), "ValueError: vds.save: '..' is not a valid output name") ||
		bad.stdout != "" || len(bad.tables) != 0 {
		t.Errorf("vds.save(df, '..'): %v, status %v, stdout %q, %d tables", err, bad.status, bad.stdout, len(bad.tables))
	}
	// Outputs in a sub-folder or as a symbolic link are still not collected, and the status says
	// which and why; the plain file next to them is saved.
	skip, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: "import os\nos.mkdir('charts')\nopen('charts/a.png', 'wb').write(b'x')\nopen('good.csv', 'w').write('a\\n1\\n')\nos.symlink('good.csv', 'link.csv')"})
	if err != nil || skip.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || len(skip.tables) != 1 || skip.tables[0].Name != "good.csv" ||
		!strings.Contains(skip.status.GetMessage(), `not collected from /out (only regular files directly in /out become outputs; write each one there under its own name): "charts" (a folder: files in sub-folders are not collected), "link.csv" (a symbolic link: links are not followed)`) {
		t.Errorf("sub-folder and link: %v, status %v, tables %v", err, skip.status, skip.tables)
	}
	// More output tables than an execution may save: none is saved (all or nothing), the outcome
	// is the output limit and the message says what to do.
	many, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: "for i in range(25):\n    open(f'part{i}.csv', 'w').write('a\\n%d\\n' % i)"})
	if err != nil || many.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT || len(many.tables) != 0 ||
		!strings.Contains(many.status.GetMessage(), "the code wrote 25 output tables (.csv, .parquet), over the limit of 20 per execution, so none of its outputs was saved") {
		t.Errorf("25 output tables: %v, status %v, %d tables", err, many.status, len(many.tables))
	}
}

// TestSQLSaveAndScope runs SQL over tips through the service: the result comes back as Arrow with
// pandas-checked values, is saved as a dataset version with lineage to the input and the query,
// and a dataset not named in the request is not visible.
func TestSQLSaveAndScope(t *testing.T) {
	ctx := context.Background()
	logs := &logging.SyncBuffer{}
	fx := newFixture(t, logs)
	p, c := fx.p, fx.c
	var refs []*commonv1.DatasetRef
	for _, f := range []string{"tabular/tips.csv", "tabular/iris.csv"} {
		refs = append(refs, upload(t, c, p.Creds.ProjectID, shareddata.Path(t, f)))
	}
	q := `SELECT day, round(avg(total_bill), 4) AS mean_bill, count(*) AS n FROM tips GROUP BY day ORDER BY day`
	res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: q,
		Inputs: []*sandboxv1.Input{{Dataset: refs[0], Alias: "tips"}}, SaveResult: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || len(res.tables) != 2 {
		t.Fatalf("status %v, %d tables", res.status, len(res.tables))
	}
	rdr, err := ipc.NewReader(bytes.NewReader(res.tables[0].ArrowIpc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, fmt.Sprintf("%v,%v,%v", rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i)))
		}
	}
	rdr.Release()
	// pandas: tips.groupby("day").total_bill.agg(["mean","count"]) -> Fri 17.1516 19, Sat 20.4414 87, Sun 21.41 76, Thur 17.6827 62.
	want := []string{"Fri,17.1516,19", "Sat,20.4414,87", "Sun,21.41,76", "Thur,17.6827,62"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	// Two table events: the rows (no saved_as), then the saved copy, named like the dataset it
	// became, with saved_as and no Arrow data.
	saved := res.tables[1].SavedAs
	if res.tables[1].Duplicate {
		t.Errorf("first save %v is marked as a duplicate", res.tables[1])
	}
	if t0, t1 := res.tables[0], res.tables[1]; t0.Name != "result" || t0.SavedAs != nil || len(t0.ArrowIpc) == 0 || t0.RowCount != 4 ||
		saved.GetDatasetId() == "" || len(t1.ArrowIpc) != 0 || t1.RowCount != 4 || t1.Name != "sql-result-"+strings.TrimPrefix(res.id, ids.Execution+"_")+".parquet" {
		t.Errorf("tables %v, want the rows as \"result\" and the saved copy named like its dataset", res.tables)
	} else if ds, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: saved.DatasetId}); err != nil || ds.Dataset.Name != t1.Name {
		t.Errorf("saved dataset %v %v, want the name %s", ds, err, t1.Name)
	}
	lin, err := c.Lineage.GetLineage(ctx, &lineagev1.GetLineageRequest{ArtifactId: fmt.Sprintf("%s.v%d", saved.DatasetId, saved.Version), Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, e := range lin.Edges {
		if e.ToId == fmt.Sprintf("%s.v%d", saved.DatasetId, saved.Version) && e.Params["code"] == q {
			from = append(from, e.FromId)
		}
	}
	slices.Sort(from)
	wantFrom := []string{fmt.Sprintf("%s.v%d", refs[0].DatasetId, refs[0].Version), res.id}
	slices.Sort(wantFrom)
	if !slices.Equal(from, wantFrom) {
		t.Errorf("lineage from %v, want %v", from, wantFrom)
	}
	// Only requested datasets are visible: iris exists in the project but was not named; files
	// cannot be read by path; writes and settings are refused; a long query is interrupted.
	for _, tc := range []struct {
		q, msg string
		want   sandboxv1.Outcome
	}{
		// An unknown table's error names the tables this execution has, with their versions.
		{"SELECT * FROM iris", fmt.Sprintf("Catalog Error: table \"iris\" does not exist; this execution has the table: tips (%s.v%d)\nDid you mean \"tips\"?", refs[0].DatasetId, refs[0].Version), sandboxv1.Outcome_OUTCOME_ERROR},
		{"SELECT 42 AS answer", "1 row", sandboxv1.Outcome_OUTCOME_OK}, // singular (it said "1 rows")
		{"SELECT * FROM range(3)", "3 rows", sandboxv1.Outcome_OUTCOME_OK},
		{"SELECT * FROM data2", fmt.Sprintf("Catalog Error: table \"data2\" does not exist; this execution has the table: tips (%s.v%d)\n", refs[0].DatasetId, refs[0].Version), sandboxv1.Outcome_OUTCOME_ERROR},
		{"SELECT * FROM read_parquet('*.parquet')", "Permission Error", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"SELECT * FROM read_csv('/etc/passwd')", "Permission Error", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"COPY tips TO 'x.csv'", "only a single read-only query", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"SET threads = 64", "only a single read-only query (SELECT, WITH, FROM, VALUES) is allowed; a SET statement is refused", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"SELECT 1; DROP TABLE tips", "exactly one statement is allowed, got 2 (SELECT; DROP), and a DROP statement is refused", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"SELECT string_agg(repeat('x', 1000), ',') FROM range(2000000)", "needs more memory than its limit of 1GB (Out of Memory Error: failed to allocate", sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT},
		{"SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = 7", "time limit of 1s", sandboxv1.Outcome_OUTCOME_TIMEOUT},
		{"SELECT current_setting('temp_directory')", "refused in the sandbox", sandboxv1.Outcome_OUTCOME_REFUSED},
		{"SELECT value FROM duckdb_settings() WHERE name = 'allowed_paths'", "refused in the sandbox", sandboxv1.Outcome_OUTCOME_REFUSED},
	} {
		timeout := int64(1000)
		if tc.want == sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT {
			timeout = 30000 // it fails in about 0.4 s on a quiet machine
		}
		res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: tc.q,
			Inputs: []*sandboxv1.Input{{Dataset: refs[0], Alias: "tips"}}, Limits: &sandboxv1.Limits{TimeoutMs: timeout}})
		if err != nil || res.status.GetOutcome() != tc.want || !strings.Contains(res.status.GetMessage(), tc.msg) ||
			(tc.want == sandboxv1.Outcome_OUTCOME_OK && res.status.GetMessage() != tc.msg) {
			t.Errorf("%s: %v %v, want %s with %q", tc.q, err, res.status, tc.want, tc.msg)
			continue
		}
		if tc.want == sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT {
			// What the caller can do, and none of DuckDB's advice to SET what a query cannot set.
			if m := res.status.GetMessage(); !strings.Contains(m, "add a LIMIT") || !strings.Contains(m, "--sandbox-memory; a request's limits cannot raise it") || strings.Contains(m, "SET ") {
				t.Errorf("%s: message %q, want the remedies a query has and the server's limit named, without SET", tc.q, m)
			}
		}
		// The record is final as soon as Execute has returned.
		g, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: res.id})
		if err != nil || !proto.Equal(g.Execution.GetStatus(), res.status) || g.Execution.Code != tc.q {
			t.Errorf("%s: record %v %v, want the status sent %v", tc.q, g.GetExecution(), err, res.status)
		}
	}
	saveRec, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: res.id})
	if err != nil || saveRec.Execution.GetStatus().GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || len(saveRec.Execution.Outputs) != 1 ||
		!proto.Equal(saveRec.Execution.Outputs[0], saved) {
		t.Errorf("saved query's record %v %v, want OK with the saved dataset", saveRec.GetExecution(), err)
	}
	// The log names outcomes as the API does.
	var n int
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "msg=execution ") || !strings.Contains(line, "language=sql") {
			continue
		}
		n++
		if !strings.Contains(line, "outcome=OUTCOME_") {
			t.Errorf("log line without an API outcome: %s", line)
		}
	}
	if n != 14 {
		t.Errorf("%d execution log lines, want 14", n)
	}
	// With two inputs, an unknown table's error names both tables, in the order asked for.
	res, err = execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: "SELECT * FROM iris",
		Inputs: []*sandboxv1.Input{{Dataset: refs[0], Alias: "tips"}, {Dataset: refs[1], Alias: "flowers"}}})
	wantMsg := fmt.Sprintf(`Catalog Error: table "iris" does not exist; this execution has the tables: tips (%s.v%d), flowers (%s.v%d)`,
		refs[0].DatasetId, refs[0].Version, refs[1].DatasetId, refs[1].Version)
	if first, _, _ := strings.Cut(res.status.GetMessage(), "\n"); err != nil || res.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_ERROR || first != wantMsg {
		t.Errorf("unknown table with two inputs: %v %v, want ERROR with the first line %q", err, res.status, wantMsg)
	}
	// Saving the same result again gives the same bytes, which the ingestion recognises: the saved
	// copy is the version the first save made, marked as a duplicate.
	again, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: q,
		Inputs: []*sandboxv1.Input{{Dataset: refs[0], Alias: "tips"}}, SaveResult: true})
	if err != nil || again.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || len(again.tables) != 2 ||
		!again.tables[1].Duplicate || !proto.Equal(again.tables[1].SavedAs, saved) {
		t.Errorf("same result saved again: %v, %v, tables %v; want the saved copy to be %v, marked as a duplicate", err, again.status, again.tables, saved)
	}
}

// TestPythonUnavailable: without bubblewrap the service still serves SQL, and Python requests fail
// with FailedPrecondition naming the reason; nothing runs unsandboxed.
func TestPythonUnavailable(t *testing.T) {
	t.Setenv("VDS_SANDBOX_BWRAP", "/nonexistent/bwrap")
	f := newFixture(t, nil)
	p, c := f.p, f.c
	_, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON, Code: "open('/tmp/ran', 'w')"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cannot start bubblewrap") || !strings.Contains(err.Error(), "never run unsandboxed") {
		t.Errorf("err = %v, want FailedPrecondition naming bubblewrap", err)
	}
	iris := upload(t, c, p.Creds.ProjectID, shareddata.Path(t, "tabular/iris.csv"))
	res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL, Code: "SELECT count(*) AS n FROM iris",
		Inputs: []*sandboxv1.Input{{Dataset: &commonv1.DatasetRef{DatasetId: iris.DatasetId}, Alias: "iris"}}})
	if err != nil || res.status.GetOutcome() != sandboxv1.Outcome_OUTCOME_OK || res.tables[0].RowCount != 1 {
		t.Errorf("SQL without bubblewrap: %v %v", err, res.status)
	}
}

// getArtifact downloads an artifact through GetArtifact.
func getArtifact(ctx context.Context, c *client.Client, exe, art string) ([]byte, *sandboxv1.ExecutionArtifact, error) {
	st, err := c.Sandbox.GetArtifact(ctx, &sandboxv1.GetArtifactRequest{ExecutionId: exe, ArtifactId: art})
	if err != nil {
		return nil, nil, err
	}
	var b []byte
	var meta *sandboxv1.ExecutionArtifact
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return b, meta, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if m.Artifact != nil {
			meta = m.Artifact
		}
		b = append(b, m.Data...)
	}
}

// TestRefusalsRecorded: a request refused before any code runs is still an execution record, with
// who, the code, the inputs as far as they resolved, the limits asked for and the refusal's code
// and message; its ID comes back in the trailer. Refusals covered: Python unavailable
// (FailedPrecondition), bad requests (InvalidArgument), another project's dataset (NotFound), a
// read-only key (PermissionDenied) and the concurrency limit (ResourceExhausted; the limit is 0
// here). A stranger to the project leaves no record in it.
func TestRefusalsRecorded(t *testing.T) {
	t.Setenv("VDS_SANDBOX_BWRAP", "/nonexistent/bwrap")
	t.Setenv("VDS_SANDBOX_CONCURRENCY", "0")
	ctx := context.Background()
	f := newFixture(t, nil)
	p, c := f.p, f.c
	me, err := c.Auth.WhoAmI(ctx, &authv1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	iris := shareddata.Path(t, "tabular/iris.csv")
	mine := upload(t, c, p.Creds.ProjectID, iris)
	stranger := strangerClient(t, p.GRPCAddr)
	sp, err := stranger.Auth.ListProjects(ctx, &authv1.ListProjectsRequest{})
	if err != nil || len(sp.Projects) == 0 {
		t.Fatalf("stranger's projects: %v %v", sp, err)
	}
	theirs := upload(t, stranger, sp.Projects[0].Id, iris)
	reader := f.readOnly(t)

	sql := sandboxv1.Language_LANGUAGE_SQL
	cases := []struct {
		name    string
		c       *client.Client
		req     *sandboxv1.ExecuteRequest
		code    codes.Code
		message string
		inputs  int // inputs in the record
	}{
		{"python unavailable", c, &sandboxv1.ExecuteRequest{Language: sandboxv1.Language_LANGUAGE_PYTHON, Code: "print(open('/etc/hostname').read())",
			Limits: &sandboxv1.Limits{TimeoutMs: 5000}}, codes.FailedPrecondition, "bubblewrap", 0},
		{"no inputs", c, &sandboxv1.ExecuteRequest{Language: sql, Code: "SELECT 1"}, codes.InvalidArgument, "inputs", 0},
		{"negative limit", c, &sandboxv1.ExecuteRequest{Language: sql, Code: "SELECT count(*) FROM data", Inputs: []*sandboxv1.Input{{Dataset: mine}},
			Limits: &sandboxv1.Limits{TimeoutMs: -1}}, codes.InvalidArgument, "limits", 1},
		{"another project's dataset", c, &sandboxv1.ExecuteRequest{Language: sql, Code: "SELECT count(*) FROM theirs",
			Inputs: []*sandboxv1.Input{{Dataset: mine, Alias: "mine"}, {Dataset: &commonv1.DatasetRef{DatasetId: theirs.DatasetId}, Alias: "theirs"}}}, codes.NotFound, theirs.DatasetId, 2},
		{"read-only key", reader, &sandboxv1.ExecuteRequest{Language: sql, Code: "SELECT count(*) FROM data", Inputs: []*sandboxv1.Input{{Dataset: mine}}}, codes.PermissionDenied, "role", 1},
		{"concurrency limit", c, &sandboxv1.ExecuteRequest{Language: sql, Code: "SELECT count(*) FROM data", Inputs: []*sandboxv1.Input{{Dataset: mine}}}, codes.ResourceExhausted, "limit", 1},
	}
	for _, tc := range cases {
		tc.req.ProjectId = p.Creds.ProjectID
		out, err := execute(t, tc.c, tc.req)
		if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.message) {
			t.Errorf("%s: err = %v, want %s mentioning %q", tc.name, err, tc.code, tc.message)
			continue
		}
		msg := status.Convert(err).Message()
		if out == nil || out.id == "" {
			t.Errorf("%s: no execution ID in the trailer", tc.name)
			continue
		}
		g, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: out.id})
		if err != nil {
			t.Errorf("%s: GetExecution(%s): %v", tc.name, out.id, err)
			continue
		}
		e := g.Execution
		st := e.GetStatus()
		if e.UserId != me.User.GetId() || e.ProjectId != p.Creds.ProjectID || e.Code != tc.req.Code || e.Language != tc.req.Language ||
			st.GetOutcome() != sandboxv1.Outcome_OUTCOME_REFUSED || st.GetRefusedCode() != tc.code.String() ||
			st.GetMessage() != msg || len(e.Inputs) != tc.inputs || e.CreateTime == nil {
			t.Errorf("%s: record %v, want user %s, the code, outcome REFUSED, refused_code %s, the message, %d inputs", tc.name, e, me.User.GetId(), tc.code, tc.inputs)
		}
		if tc.req.Limits != nil && e.GetLimits().GetTimeoutMs() != tc.req.Limits.TimeoutMs {
			t.Errorf("%s: recorded limits %v, want the requested %v", tc.name, e.Limits, tc.req.Limits)
		}
	}
	// A stranger to the project gets NotFound and leaves no record there.
	out, err := execute(t, stranger, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sql, Code: "SELECT 1", Inputs: []*sandboxv1.Input{{Dataset: mine}}})
	if status.Code(err) != codes.NotFound || out == nil || out.id != "" {
		t.Errorf("stranger: err = %v, trailer ID %q; want NotFound and no record", err, out.GetID())
	}
}

func (c *collected) GetID() string {
	if c == nil {
		return ""
	}
	return c.id
}
