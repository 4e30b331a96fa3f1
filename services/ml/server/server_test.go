package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// platform starts the whole mesh (real gRPC, embedded NATS, SQLite) under a temporary home.
func platform(t *testing.T) (*client.Client, *mesh.Platform, string) {
	t.Helper()
	home := t.TempDir()
	c, p := upMesh(t, mesh.Options{Home: home, Bootstrap: true, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	return c, p, home
}

func upload(t *testing.T, c *client.Client, project, rel string) *commonv1.DatasetRef {
	t.Helper()
	ctx := context.Background()
	up, err := c.UploadFile(ctx, project, shareddata.Path(t, rel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
	}
	return &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
}

func train(t *testing.T, c *client.Client, req *mlv1.StartTrainingRequest) (*mlv1.Training, *mlv1.Model) {
	t.Helper()
	ctx := context.Background()
	st, err := c.ML.StartTraining(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, st.JobId, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: tr.Training.BestModelId})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Training, m.Model
}

// messyTrainPredictTamper trains on the messy file with a text target through the service, checks
// the constant columns were dropped with a warning, predicts rows with unseen categories and values,
// then flips one byte of the stored artifact and checks that the next load is refused.
func TestService(t *testing.T) {
	c, p, home := platform(t)
	t.Run("messy train, predict, tamper", func(t *testing.T) { messyTrainPredictTamper(t, c, p, home) })
	t.Run("unseen categories", func(t *testing.T) { unseenCategoryPredict(t, c, p) })
	t.Run("bad budgets", func(t *testing.T) { badBudgets(t, c, p) })
	t.Run("sampled SHAP titles", func(t *testing.T) { sampledSHAPTitles(t, c, p) })
}

// sampledSHAPTitles: a naive Bayes model's SHAP values are sampled Shapley values, and both the
// chart's title and its Vega-Lite title say so (the chart's title once did not).
func sampledSHAPTitles(t *testing.T, c *client.Client, p *mesh.Platform) {
	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")
	_, m := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 3, Seed: 3,
		ExcludeColumns: []string{"alive", "who", "adult_male"}, Algorithms: []string{"naive_bayes"}})
	if m.Algorithm != "naive_bayes" {
		t.Fatalf("model %s is %s, want naive_bayes", m.Id, m.Algorithm)
	}
	sh, err := c.ML.Explain(context.Background(), &mlv1.ExplainRequest{ModelId: m.Id, Method: "shap", MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Charts) != 1 {
		t.Fatalf("%d charts, want 1", len(sh.Charts))
	}
	spec := sh.Charts[0].VegaLite.AsMap()
	if got, want := sh.Charts[0].Title, "Sampled SHAP drivers of survived"; got != want {
		t.Errorf("chart title %q, want %q", got, want)
	}
	if got, want := spec["title"], "What drives survived (mean |sampled SHAP value| on log-odds of 1, 100 rows)"; got != want {
		t.Errorf("Vega-Lite title %q, want %q", got, want)
	}
}

// A budget beyond the maximum is refused however it is written: huge numbers once overflowed the
// Duration conversion and passed, NaN and infinities must not slip through either.
func badBudgets(t *testing.T, c *client.Client, p *mesh.Platform) {
	ref := upload(t, c, p.Creds.ProjectID, "messy/constant_and_string_target.csv")
	for _, b := range []float64{-1, 3601, 1e12, 1e20, math.Inf(1), math.NaN()} {
		_, err := c.ML.StartTraining(context.Background(), &mlv1.StartTrainingRequest{Dataset: ref, Target: "label", BudgetSeconds: b})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "budget_seconds") {
			t.Errorf("budget_seconds %v: %v, want InvalidArgument naming budget_seconds", b, err)
		}
	}
	for _, m := range []float64{-1, math.Inf(1), math.NaN()} {
		_, err := c.ML.StartTraining(context.Background(), &mlv1.StartTrainingRequest{Dataset: ref, Target: "label", BudgetMoney: m})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "budget_money") {
			t.Errorf("budget_money %v: %v, want InvalidArgument naming budget_money", m, err)
		}
	}
	// Requests that can only fail are refused before a job starts.
	for _, tc := range []struct {
		req   *mlv1.StartTrainingRequest
		field string
	}{
		{&mlv1.StartTrainingRequest{Dataset: ref, Target: "label", CvGroupColumn: "feature", CvTimeColumn: "near_const"}, "cv_time_column"},
		{&mlv1.StartTrainingRequest{Dataset: ref, Target: "label", ExcludeColumns: []string{"label"}}, "exclude_columns"},
	} {
		_, err := c.ML.StartTraining(context.Background(), tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%v: %v, want InvalidArgument naming %s", tc.req, err, tc.field)
		}
	}
	// A target with no values (all_null_column.csv's empty_col) too, naming the columns that could be.
	empty := upload(t, c, p.Creds.ProjectID, "messy/all_null_column.csv")
	_, err := c.ML.StartTraining(context.Background(), &mlv1.StartTrainingRequest{Dataset: empty, Target: "empty_col", BudgetSeconds: 3})
	if want := `target: column "empty_col" has no values (all 200 rows are missing), so there is nothing to predict or explain; columns that could be targets: score, grp`; status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("empty target: %v, want InvalidArgument %q", err, want)
	}
}

func messyTrainPredictTamper(t *testing.T, c *client.Client, p *mesh.Platform, home string) {
	ctx := context.Background()
	ref := upload(t, c, p.Creds.ProjectID, "messy/constant_and_string_target.csv")
	tr, m := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "label", BudgetSeconds: 3, Seed: 1})
	if tr.State != mlv1.TrainingState_TRAINING_STATE_SUCCEEDED || tr.Task != mlv1.Task_TASK_BINARY {
		t.Fatalf("training state %v task %v error %q", tr.State, tr.Task, tr.Error)
	}
	if !slices.Equal(m.Classes, []string{"no", "yes"}) || m.PositiveClass != "yes" {
		t.Fatalf("classes %v positive %q", m.Classes, m.PositiveClass)
	}
	for _, col := range []string{"const_nan", "near_const"} {
		if !slices.Contains(tr.DroppedColumns, col) {
			t.Errorf("%s not dropped: %v", col, tr.DroppedColumns)
		}
		warned := false
		for _, w := range tr.Warnings {
			warned = warned || (strings.Contains(w, col) && strings.Contains(w, "constant"))
		}
		if !warned {
			t.Errorf("no constant-column warning for %s in %q", col, tr.Warnings)
		}
	}
	if sp := tr.Spend; sp == nil || sp.WallSeconds <= 0 || sp.CpuSeconds <= 0 || sp.Budget != "wall 3s" || int(sp.Trials) != len(tr.Leaderboard) || sp.Cost != 0 {
		t.Errorf("spend %v", tr.Spend)
	}
	// No price per CPU-second is configured in the embedded mesh, so a money budget is refused.
	_, err := c.ML.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: ref, Target: "label", BudgetMoney: 0.5})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "price-per-cpu-second") {
		t.Errorf("money budget without a price: %v", err)
	}
	if !slices.Equal(m.Features, []string{"feature"}) {
		t.Errorf("features %v", m.Features)
	}
	if !strings.HasPrefix(m.Digest, "sha256:") || len(m.Signature) != 64 || !strings.HasPrefix(m.SigningKeyId, "ed25519:") {
		t.Fatalf("model record not signed: digest %q signature %d bytes key %q", m.Digest, len(m.Signature), m.SigningKeyId)
	}

	// The dropped constant columns and the target are columns of the training data the model does
	// not read, so values never seen in training there (a category in a numeric column) change
	// nothing: rows 0 and 1 must score exactly like rows 2 and 3.
	rows := []*mlv1.Row{
		{Values: map[string]string{"feature": "-2.5", "near_const": "a never-seen category", "const_nan": "banana"}},
		{Values: map[string]string{"feature": "1.5", "label": "yes"}},
		{Values: map[string]string{"feature": "-2.5"}},
		{Values: map[string]string{"feature": "1.5"}},
	}
	// A row that names no feature at all is refused, not scored as all-missing.
	for _, bad := range []*mlv1.Row{{Values: map[string]string{}}, {Values: map[string]string{"unknown_column": "x"}}} {
		_, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{rows[0], bad}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "rows[1].values") || !strings.Contains(err.Error(), "feature") {
			t.Errorf("row without a feature: %v, want InvalidArgument naming rows[1].values", err)
		}
	}
	// A column the training data did not have (a misspelt name) is refused, naming every such
	// column and the model's features, rather than scored as if the value were missing.
	_, err = c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{rows[0],
		{Values: map[string]string{"feature": "1.5", "Feature": "2", "unknown_column": "x"}}}})
	if msg := status.Convert(err).Message(); status.Code(err) != codes.InvalidArgument || !strings.Contains(msg, "rows[1].values") ||
		!strings.Contains(msg, `"Feature", "unknown_column"`) || !strings.Contains(msg, "the model's features are feature") {
		t.Errorf("unknown columns: %v, want InvalidArgument naming rows[1], both columns and the features", err)
	}
	// Infinities and NaN are refused, naming the row and the column ("" or no value is missing).
	for _, v := range []string{"Infinity", "-inf", "+Inf", "NaN", "1e999"} {
		_, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{rows[0], {Values: map[string]string{"feature": v}}}})
		if msg := status.Convert(err).Message(); status.Code(err) != codes.InvalidArgument || !strings.Contains(msg, "rows[1].values[feature]") || !strings.Contains(msg, "finite") {
			t.Errorf("feature %q: %v, want InvalidArgument naming rows[1].values[feature]", v, err)
		}
	}
	// Text in a numeric column names what the column takes.
	_, err = c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{rows[0], {Values: map[string]string{"feature": "maybe"}}}})
	if msg := status.Convert(err).Message(); status.Code(err) != codes.InvalidArgument || !strings.Contains(msg, `rows[1].values[feature]`) ||
		!strings.Contains(msg, `"maybe" is not a number: feature is a numeric column (from `) {
		t.Errorf("feature maybe: %v", err)
	}
	pr, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: rows})
	if err != nil {
		t.Fatalf("predict with unseen categories: %v", err)
	}
	if len(pr.Predictions) != len(rows) {
		t.Fatalf("%d predictions", len(pr.Predictions))
	}
	for i, p := range pr.Predictions {
		if len(p.Probabilities) != 2 || (p.Label != "yes" && p.Label != "no") || math.Abs(p.Probabilities[0]+p.Probabilities[1]-1) > 1e-12 || p.Probabilities[1] != p.Value {
			t.Fatalf("row %d: %v", i, p)
		}
	}
	for i := 0; i < 2; i++ {
		if pr.Predictions[i].Value != pr.Predictions[i+2].Value {
			t.Errorf("row %d scored %v with unseen values, %v without", i, pr.Predictions[i].Value, pr.Predictions[i+2].Value)
		}
	}

	// Flip one byte in the middle of the stored artifact.
	path := filepath.Join(home, "objects", "models", m.Id+".pb")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("stored artifact: %v", err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: rows[:1]})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "refused") {
		t.Fatalf("tampered artifact: got %v, want FailedPrecondition saying it was refused", err)
	}
	t.Logf("tampered load refused: %s", status.Convert(err).Message())
}

// unseenCategoryPredict trains on Titanic (text columns sex and embarked) and predicts rows
// whose categories never occur in training.
func unseenCategoryPredict(t *testing.T, c *client.Client, p *mesh.Platform) {
	ctx := context.Background()
	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")
	_, m := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 3, Seed: 2,
		ExcludeColumns: []string{"alive", "who", "adult_male"}, Algorithms: []string{"gbdt"}})
	if !slices.Contains(m.Features, "sex") {
		t.Fatalf("sex is not a feature: %v", m.Features)
	}
	start := time.Now()
	pr, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{
		{Values: map[string]string{"sex": "female", "pclass": "1", "age": "30"}},
		{Values: map[string]string{"sex": "unknown-sex", "embarked": "Atlantis", "class": "Zeppelin", "pclass": "3", "age": "30"}},
		{Values: map[string]string{"sex": "male", "pclass": "3", "age": "30"}},
	}})
	if err != nil {
		t.Fatalf("predict with unseen categories: %v", err)
	}
	t.Logf("predict took %v: %v", time.Since(start), pr.Predictions)
	if len(pr.Predictions) != 3 {
		t.Fatalf("%d predictions", len(pr.Predictions))
	}
	if f, mm := pr.Predictions[0].Value, pr.Predictions[2].Value; f <= mm {
		t.Errorf("P(survived) first-class woman %.3f <= third-class man %.3f", f, mm)
	}
	// The unseen categories are scored, and named in the response (they were silently scored);
	// class is not a feature (the training dropped it), so its value is ignored without a word.
	wantWarns := []string{
		`rows[1]: "Atlantis" is not a category of embarked in the training data; the known categories are "C", "Q", "S". It was scored as an unseen category, so its prediction is less reliable`,
		`rows[1]: "unknown-sex" is not a category of sex in the training data; the known categories are "female", "male". It was scored as an unseen category, so its prediction is less reliable`,
	}
	got := slices.Sorted(slices.Values(pr.Warnings))
	if !slices.Equal(got, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}
	// A value that is not a number, for a numeric column, is refused naming the column, that it is
	// numeric and its training range (it said "nor a yes/no value as a two-valued column takes").
	_, err = c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: m.Id, Rows: []*mlv1.Row{{Values: map[string]string{"pclass": "banana", "sex": "male"}}}})
	if want := `rows[0].values[pclass]: "banana" is not a number: pclass is a numeric column (from 1 to 3 in the training data); send a number, or "" (or leave the column out) for a missing value`; status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("pclass banana: %v\nwant InvalidArgument %s", err, want)
	}
	// Over REST, JSON numbers and booleans are values too ({"age": 22} was refused: "must be a
	// string"), and the response carries the warnings.
	body := `{"rows": [{"values": {"age": 22, "pclass": 3, "fare": 7.25, "alone": true, "sex": "male", "embarked": "Southampton"}}]}`
	hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.HTTPURL+"/v1/models/"+m.Id+":predict", strings.NewReader(body))
	hreq.Header.Set("x-api-key", p.Creds.APIKey)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	var rest struct {
		Predictions []struct{ Label string }
		Warnings    []string
	}
	err = json.NewDecoder(resp.Body).Decode(&rest)
	resp.Body.Close()
	wantWarn := `rows[0]: "Southampton" is not a category of embarked in the training data; the known categories are "C", "Q", "S". It was scored as an unseen category, so its prediction is less reliable`
	if err != nil || resp.StatusCode != http.StatusOK || len(rest.Predictions) != 1 || !slices.Equal(rest.Warnings, []string{wantWarn}) {
		t.Errorf("REST predict with JSON numbers: %d %+v (%v), want 200, one prediction and the warning %s", resp.StatusCode, rest, err, wantWarn)
	}
	explain(t, c, m)
}

// explain checks the Explain RPC's SHAP and partial dependence answers on the Titanic model trained
// without sex's proxies (who, adult_male), where women survived far more often (74% against 19%).
func explain(t *testing.T, c *client.Client, m *mlv1.Model) {
	ctx := context.Background()
	sh, err := c.ML.Explain(ctx, &mlv1.ExplainRequest{ModelId: m.Id, Method: "shap", MaxRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Importances) != len(m.Features) || len(sh.Charts) != 1 || len(sh.ExpectedValue) != 1 {
		t.Fatalf("shap: %d importances, %d charts, expected %v", len(sh.Importances), len(sh.Charts), sh.ExpectedValue)
	}
	if top := sh.Importances[0].Feature; top != "sex" {
		t.Errorf("top SHAP driver %q, want sex", top)
	}
	// Exact (TreeSHAP) values: neither title says sampled.
	if got, want := sh.Charts[0].Title, "SHAP drivers of survived"; got != want {
		t.Errorf("chart title %q, want %q", got, want)
	}
	if got, want := sh.Charts[0].VegaLite.AsMap()["title"], "What drives survived (mean |SHAP value| on log-odds of 1, 300 rows)"; got != want {
		t.Errorf("Vega-Lite title %q, want %q", got, want)
	}
	pd, err := c.ML.Explain(ctx, &mlv1.ExplainRequest{ModelId: m.Id, Method: "pdp", Columns: []string{"sex", "age"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.PartialDependence) != 2 || len(pd.Charts) != 2 || pd.Charts[0].Kind != "partial_dependence" {
		t.Fatalf("pdp: %d curves, %d charts", len(pd.PartialDependence), len(pd.Charts))
	}
	sex := map[string]float64{}
	for i, v := range pd.PartialDependence[0].Values {
		sex[v] = pd.PartialDependence[0].MeanPrediction[i]
	}
	if pd.PartialDependence[0].Output != "P(1)" || sex["female"] <= sex["male"]+0.2 {
		t.Errorf("partial dependence on sex %v (%s): women should survive far more often", sex, pd.PartialDependence[0].Output)
	}
	for _, bad := range []*mlv1.ExplainRequest{
		{ModelId: m.Id, Method: "lime"},
		{ModelId: m.Id, Method: "pdp", Columns: []string{"no_such_column"}},
		{ModelId: m.Id, Method: "shap", MaxRows: 100000},
	} {
		if _, err := c.ML.Explain(ctx, bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: got %v, want InvalidArgument", bad, err)
		}
	}
}
