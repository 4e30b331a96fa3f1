package semantic

import (
	"fmt"
	"math"
	"testing"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/frame"
)

func strCol(name string, vals ...string) *frame.Column {
	c := &frame.Column{Name: name, Kind: frame.String}
	for _, v := range vals {
		c.S = append(c.S, v)
		c.Null = append(c.Null, v == "")
	}
	return c
}

func numCol(name string, vals ...float64) *frame.Column {
	c := &frame.Column{Name: name, Kind: frame.Float}
	for _, v := range vals {
		c.F = append(c.F, v)
		c.Null = append(c.Null, math.IsNaN(v))
	}
	return c
}

func seq(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func seqF(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestInferFromColumn(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	cases := []struct {
		col  *frame.Column
		want commonv1.SemanticType
	}{
		{strCol("customerID", seq(100, func(i int) string { return fmt.Sprintf("%04d-VHV%02dG", 7590+i, i) })...), commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER},
		{strCol("Churn", seq(100, func(i int) string { return []string{"Yes", "No", "No"}[i%3] })...), commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN},
		{strCol("Contract", seq(100, func(i int) string { return []string{"Month-to-month", "One year", "Two year"}[i%3] })...), commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL},
		{strCol("sex", seq(100, func(i int) string { return []string{"MALE", "FEMALE"}[i%2] })...), commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL},
		{strCol("name", seq(100, func(i int) string { return fmt.Sprintf("chevrolet chevelle malibu %d", i) })...), commonv1.SemanticType_SEMANTIC_TYPE_TEXT},
		{strCol("empty", "", "", ""), commonv1.SemanticType_SEMANTIC_TYPE_EMPTY},
		{numCol("SeniorCitizen", seqF(100, func(i int) float64 { return float64(i % 2) })...), commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN},
		{numCol("tenure", seqF(100, func(i int) float64 { return float64(i % 72) })...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		{numCol("TotalCharges", append(seqF(100, func(i int) float64 { return 20.5 * float64(i) }), nan)...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		{numCol("id", seqF(100, func(i int) float64 { return float64(i + 1) })...), commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER},
		{numCol("Unnamed: 0", seqF(100, func(i int) float64 { return float64(i) })...), commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER},
		{numCol("year", seqF(100, func(i int) float64 { return float64(1900 + i) })...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		// messy/mixed_types.csv's value and mixed_date_formats.csv's amount count 0, 1, 2, ...:
		// unique and sequential, but measures by name.
		{numCol("value", seqF(120, func(i int) float64 { return float64(i) })...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		{numCol("amount", seqF(180, func(i int) float64 { return float64(i) })...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		// R's row names column (causal/nhefs.csv, nsw_experimental.csv) and a sequence number.
		{numCol("rownames", seqF(445, func(i int) float64 { return float64(i + 1) })...), commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER},
		{numCol("seq", seqF(100, func(i int) float64 { return float64(i + 1) })...), commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER},
		{numCol("pickup_lat", seqF(100, func(i int) float64 { return 40.5 + float64(i)/1000 })...), commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE},
		{numCol("longitude", seqF(100, func(i int) float64 { return -73.9 + float64(i)/1000 })...), commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE},
		{numCol("latitude", seqF(100, func(i int) float64 { return 400 + float64(i) })...), commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC},
		{numCol("none", nan, nan), commonv1.SemanticType_SEMANTIC_TYPE_EMPTY},
		{&frame.Column{Name: "when", Kind: frame.Time, F: []float64{1, 2}, Null: []bool{false, false}}, commonv1.SemanticType_SEMANTIC_TYPE_DATETIME},
		{&frame.Column{Name: "adult_male", Kind: frame.Bool, F: []float64{1, 0}, Null: []bool{false, false}}, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN},
	}
	for _, c := range cases {
		s := FromColumn(c.col)
		if got := Infer(s); got != c.want {
			t.Errorf("%s: got %s, want %s (stats %+v)", c.col.Name, Name(got), Name(c.want), s)
		}
	}
}

func TestInferFromDuckDBStyleStats(t *testing.T) {
	t.Parallel()
	// What ingestion knows about telco columns from SUMMARIZE-like queries.
	id := Stats{Name: "customerID", Kind: frame.String, Count: 7043, Distinct: 7043, MinLen: 10, MaxLen: 10, MeanLen: 10}
	if got := Infer(id); got != commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER {
		t.Errorf("customerID: %s", Name(got))
	}
	tc := Stats{Name: "TotalCharges", Kind: frame.Float, Count: 7043, Missing: 11, Distinct: 6530, Min: 18.8, Max: 8684.8}
	if got := Infer(tc); got != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC {
		t.Errorf("TotalCharges: %s", Name(got))
	}
}

func TestNameAndTokens(t *testing.T) {
	t.Parallel()
	if Name(commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE) != "longitude" || Name(0) != "unspecified" {
		t.Error("Name")
	}
	if got := fmt.Sprint(tokens("customerID")); got != "[customer id]" {
		t.Errorf("tokens = %s", got)
	}
}

// TestIntegerIdentifier: the integer identifier rule ingestion and profiling share needs the name
// as well as the values; uniqueness or a sequence alone keeps a measure NUMERIC.
func TestIntegerIdentifier(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name               string
		present            int64
		unique, sequential bool
		want               bool
	}{
		{"value", 120, true, true, false},
		{"amount", 180, true, true, false},
		{"year", 100, true, true, false},
		{"customer_id", 1000, true, false, true},
		{"customerID", 1000, true, false, true},
		{"customer_id", 1000, false, false, false}, // repeated IDs: a foreign key, not this row's ID
		{"index", 100, true, true, true},
		{"rownames", 445, true, true, true},
		{"Unnamed: 0", 100, true, true, true},
		{"account_no", 50, true, true, true},
		{"account_no", 50, true, false, false}, // an index's name needs the sequence
		{"id", 9, true, true, false},           // too few values to tell
	} {
		if got := IntegerIdentifier(c.name, c.present, c.unique, c.sequential); got != c.want {
			t.Errorf("IntegerIdentifier(%q, %d, unique %v, sequential %v) = %v, want %v", c.name, c.present, c.unique, c.sequential, got, c.want)
		}
	}
}
