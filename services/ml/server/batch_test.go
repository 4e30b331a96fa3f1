package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// table is a dataset version read over Flight: column names and each row's values as text
// (missing values absent), the way a Predict request spells them.
type table struct {
	names []string
	rows  []map[string]string
}

func readTable(t *testing.T, c *client.Client, q *datasetsv1.DatasetQuery) *table {
	t.Helper()
	rdr, err := c.ReadDataset(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	out := &table{}
	for _, f := range rdr.Schema().Fields() {
		out.names = append(out.names, f.Name)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]string{}
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					continue
				}
				row[out.names[j]] = cellText(t, col, i)
			}
			out.rows = append(out.rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func cellText(t *testing.T, col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Timestamp:
		return a.Value(i).ToTime(col.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	}
	t.Fatalf("column type %s not handled", col.DataType())
	return ""
}

// TestBatchPredict trains on Titanic, scores the same version with BatchPredict, reads the new
// version over Flight and checks: every input row and column is there with the predicted class and
// both class probabilities; sample rows get exactly what Predict answers for them; the lineage of the
// new version names the input version and the model; a viewer-only or unknown model is refused.
func TestBatchPredict(t *testing.T) {
	c, p, home := platform(t)
	ctx := context.Background()
	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")
	_, m := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 3, Seed: 4,
		ExcludeColumns: []string{"alive", "who", "adult_male"}, Algorithms: []string{"gbdt"}})
	in := readTable(t, c, &datasetsv1.DatasetQuery{DatasetId: ref.DatasetId, Version: ref.Version})

	bp, err := c.ML.BatchPredict(ctx, &mlv1.BatchPredictRequest{ModelId: m.Id, Dataset: ref})
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.WaitJob(ctx, bp.JobId, nil)
	if err != nil {
		t.Fatalf("batch predict job: %v", err)
	}
	outID := job.ResultId
	if outID == "" || outID == ref.DatasetId {
		t.Fatalf("job result %q, want a new dataset", outID)
	}
	vs, err := c.Datasets.ListVersions(ctx, &datasetsv1.ListVersionsRequest{DatasetId: outID})
	if err != nil || len(vs.Versions) != 1 || vs.Versions[0].State != datasetsv1.VersionState_VERSION_STATE_READY {
		t.Fatalf("versions of the output: %v %v", vs, err)
	}
	ver := vs.Versions[0].Version
	out := readTable(t, c, &datasetsv1.DatasetQuery{DatasetId: outID, Version: ver})
	if len(out.rows) != len(in.rows) || len(in.rows) != 891 {
		t.Fatalf("%d rows written for %d read", len(out.rows), len(in.rows))
	}
	wantCols := append(append([]string(nil), in.names...), "predicted_survived", "probability_0", "probability_1")
	if !slices.Equal(out.names, wantCols) {
		t.Fatalf("output columns %v, want %v", out.names, wantCols)
	}
	// The input columns are carried over unchanged.
	for i := range in.rows {
		for _, n := range in.names {
			if in.rows[i][n] != out.rows[i][n] {
				t.Fatalf("row %d column %s: %q in, %q out", i, n, in.rows[i][n], out.rows[i][n])
			}
		}
	}
	// Predict on sample rows (their input values as text) gives the same class and probabilities.
	sample := []int{0, 1, 2, 5, 61, 100, 300, 500, 829, 890}
	var rows []*mlv1.Row
	for _, i := range sample {
		v := map[string]string{}
		for _, n := range in.names {
			if x, ok := in.rows[i][n]; ok {
				v[n] = x
			}
		}
		rows = append(rows, &mlv1.Row{Values: v})
	}
	pr, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]int{}
	for k, i := range sample {
		got, want := out.rows[i], pr.Predictions[k]
		classes[want.Label]++
		if got["predicted_survived"] != want.Label {
			t.Errorf("row %d: batch class %q, Predict %q", i, got["predicted_survived"], want.Label)
		}
		for c, name := range []string{"probability_0", "probability_1"} {
			bv, _ := strconv.ParseFloat(got[name], 64)
			if math.Abs(bv-want.Probabilities[c]) > 1e-12 {
				t.Errorf("row %d: batch %s %v, Predict %v", i, name, bv, want.Probabilities[c])
			}
		}
	}
	if len(classes) != 2 {
		t.Errorf("the sample rows all got one class: %v", classes)
	}
	t.Logf("%d rows scored into %s v%d in %v (job, with the ingest of the output); sample classes %v", len(out.rows), outID, ver,
		job.FinishTime.AsTime().Sub(job.CreateTime.AsTime()).Round(time.Millisecond), classes)

	lin, err := c.Lineage.GetLineage(ctx, &lineagev1.GetLineageRequest{ArtifactId: fmt.Sprintf("%s.v%d", outID, ver), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]string{}
	for _, e := range lin.Edges {
		if e.ToId == fmt.Sprintf("%s.v%d", outID, ver) {
			from[e.FromId] = e.Operation
		}
	}
	if from[m.Id] != "batch_predict" || from[fmt.Sprintf("%s.v%d", ref.DatasetId, ref.Version)] != "batch_predict" {
		t.Errorf("lineage edges into the output %v, want the model %s and the input %s.v%d", from, m.Id, ref.DatasetId, ref.Version)
	}

	// The REST route: POST /v1/models/{model_id}:batchPredict. The same rows and model make the same
	// Parquet bytes, which the upload recognizes: the job answers with the same dataset.
	{
		body := fmt.Sprintf(`{"dataset": {"dataset_id": %q, "version": %d}}`, ref.DatasetId, ref.Version)
		hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.HTTPURL+"/v1/models/"+m.Id+":batchPredict", strings.NewReader(body))
		hreq.Header.Set("x-api-key", p.Creds.APIKey)
		hreq.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		jobID := got["jobId"] + got["job_id"]
		if err != nil || resp.StatusCode != http.StatusOK || jobID == "" {
			t.Fatalf("REST batchPredict: %d %v %v", resp.StatusCode, got, err)
		}
		j, err := c.WaitJob(ctx, jobID, nil)
		if err != nil || j.ResultId != outID {
			t.Errorf("REST batch prediction job: result %q (%v), want the same dataset %s", j.GetResultId(), err, outID)
		}
	}

	// A tampered artifact is refused before the job reads any row.
	path := filepath.Join(home, "objects", "models", m.Id+".pb")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bp, err = c.ML.BatchPredict(ctx, &mlv1.BatchPredictRequest{ModelId: m.Id, Dataset: ref})
	if err != nil {
		t.Fatal(err)
	}
	if j, err := c.WaitJob(ctx, bp.JobId, nil); err == nil || !strings.Contains(j.GetError(), "refused") {
		t.Errorf("batch prediction with a tampered model: job %v, %v; want it failed saying the model was refused", j, err)
	}

	for _, bad := range []*mlv1.BatchPredictRequest{{ModelId: "mdl_00000000000000000000000000000000", Dataset: ref}, {ModelId: "nope", Dataset: ref}} {
		if _, err := c.ML.BatchPredict(ctx, bad); status.Code(err) != codes.NotFound && status.Code(err) != codes.InvalidArgument {
			t.Errorf("BatchPredict %v: %v", bad.ModelId, err)
		}
	}
}
