package platform

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
)

// TestRequireTarget: a target with no values (all_null_column.csv's empty_col) is refused with
// InvalidArgument naming it and listing the columns that could be targets instead; a target with
// values passes; an unknown name keeps RequireColumn's answer.
func TestRequireTarget(t *testing.T) {
	t.Parallel()
	col := func(name string, st commonv1.SemanticType, missing int64) *datasetsv1.Column {
		return &datasetsv1.Column{Name: name, SemanticType: st, MissingCount: missing}
	}
	ver := &datasetsv1.DatasetVersion{RowCount: 200, Columns: []*datasetsv1.Column{
		col("id", commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER, 0),
		col("score", commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, 0),
		col("empty_col", commonv1.SemanticType_SEMANTIC_TYPE_EMPTY, 200),
		col("grp", commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, 3),
		col("note", commonv1.SemanticType_SEMANTIC_TYPE_TEXT, 0),
		col("gone", commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, 200), // typed, but no values
	}}
	for _, c := range []struct{ target, want string }{
		{"empty_col", `target: column "empty_col" has no values (all 200 rows are missing), so there is nothing to predict or explain; columns that could be targets: score, grp`},
		{"gone", `target: column "gone" has no values (all 200 rows are missing), so there is nothing to predict or explain; columns that could be targets: score, grp`},
		{"nope", `target: column "nope" is not in the dataset; columns are: id, score, empty_col, grp, note, gone`},
		// An identifier or free text is refused before any job too (customerID failed after profiling).
		{"id", `target: column "id" is an identifier (a different value on nearly every row), so there is nothing to predict or explain; columns that could be targets: score, grp`},
		{"note", `target: column "note" is free text (nearly every value different), so it cannot be a target; columns that could be targets: score, grp`},
	} {
		err := RequireTarget("target", ver, c.target)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != c.want {
			t.Errorf("%s: %v, want InvalidArgument %q", c.target, err, c.want)
		}
	}
	for _, ok := range []string{"score", "grp"} {
		if err := RequireTarget("target", ver, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	only := &datasetsv1.DatasetVersion{RowCount: 5, Columns: []*datasetsv1.Column{col("e", commonv1.SemanticType_SEMANTIC_TYPE_EMPTY, 5), col("id", commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER, 0)}}
	if err := RequireTarget("target", only, "e"); err == nil || !strings.Contains(err.Error(), "no column could be a target") {
		t.Errorf("no candidates: %v", err)
	}
}
