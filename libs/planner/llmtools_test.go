package planner

import (
	"strings"
	"testing"
)

func TestValidateIDTools(t *testing.T) {
	s := &Schema{DatasetID: "ds_x", Columns: []Column{{Name: "Churn", Type: "categorical", Values: []string{"No", "Yes"}}, {Name: "InternetService", Type: "categorical"}, {Name: "tenure", Type: "numeric"}}}
	mdl := "mdl_" + strings.Repeat("a", 32)
	ds := "ds_" + strings.Repeat("b", 32)
	for _, c := range []struct {
		tool, args string
		err        string // substring of the refusal; empty means accepted
		key, want  string
	}{
		{"explain", `{"model_id":"` + mdl + `"}`, "", "model_id", mdl},
		{"explain", `{"model_id":"` + ds + `"}`, "not an ID of the right kind", "", ""},
		{"explain", `{"model_id":"mdl_123"}`, "not a valid mdl ID", "", ""},
		{"explain", `{"model_id":"` + mdl + `","method":"lime"}`, "permutation, shap or pdp", "", ""},
		{"explain", `{"model_id":"` + mdl + `","columns":["Tenure","internet service"]}`, "", "columns", "tenure\nInternetService"},
		{"explain", `{"model_id":"` + mdl + `","columns":[1]}`, "list of names", "", ""},
		{"explain_change", `{"outcome":"churn","time":"tenure","segments":"internet service, happiness"}`, `"happiness" is not a column`, "", ""},
		{"explain_change", `{"outcome":"churn","time":"tenure","segments":"internet service"}`, "", "segments", "InternetService"},
		{"lineage", `{"artifact_id":"` + ds + `.v3"}`, "", "artifact_id", ds + ".v3"},
		{"lineage", `{"artifact_id":"` + ds + `.vx"}`, "not a valid ID", "", ""},
		{"lineage", `{"artifact_id":"usr_` + strings.Repeat("c", 32) + `"}`, "not an ID of the right kind", "", ""},
		{"train", `{"target":"churn","budget_seconds":"9999"}`, "between 1 and 600", "", ""},
		{"train", `{"target":"churn","budget_seconds":5}`, "", "target", "Churn"},
		{"make_chart", `{"sql":"DELETE FROM data","x":"a","y":"b"}`, "read-only SELECT", "", ""},
		{"make_chart", `{"sql":"SELECT 1 AS a, 2 AS b","x":"a","y":"b","mark":"pie"}`, "bar, line or scatter", "", ""},
		{"hypotheses", `{"target":"churn","profile_id":"` + mdl + `"}`, "expected prof_", "", ""},
		{"get_model", `{"model_id":"` + mdl + `","extra":"1"}`, "has no argument", "", ""},
	} {
		args, in, err := validate(s, c.tool, c.args)
		if err == nil {
			err = validateIDTool(c.tool, args)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s %s: refused: %v", c.tool, c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %s: error %v, want %q", c.tool, c.args, err, c.err)
		case c.err == "" && (in != nil || args[c.key] != c.want):
			t.Errorf("%s %s: %s = %q (intent %v), want %q", c.tool, c.args, c.key, args[c.key], in, c.want)
		}
	}
}
