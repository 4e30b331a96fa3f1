package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/frame"
	vdsids "github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/semantic"
	"google.golang.org/protobuf/encoding/protojson"
)

func mustProfile(t testing.TB, f *frame.Frame, opts Options) *profilingv1.Profile {
	t.Helper()
	p, err := Compute(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The whole profile must serialize (no NaN in structs, valid charts).
	if _, err := protojson.Marshal(p); err != nil {
		t.Fatalf("profile does not marshal: %v", err)
	}
	return p
}

func column(t testing.TB, p *profilingv1.Profile, name string) *profilingv1.ColumnProfile {
	t.Helper()
	for _, c := range p.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %q", name)
	return nil
}

func findAlert(p *profilingv1.Profile, kind string, col string) *profilingv1.Alert {
	for _, a := range p.Alerts {
		if a.Kind == kind && (col == "" || slices.Contains(a.Columns, col)) {
			return a
		}
	}
	return nil
}

func alertKinds(p *profilingv1.Profile) []string {
	var out []string
	for _, a := range p.Alerts {
		out = append(out, a.Kind+":"+strings.Join(a.Columns, "+"))
	}
	return out
}

func TestPenguins(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/penguins.csv", false)
	p := mustProfile(t, f, Options{Target: "species"})
	if p.RowCount != 344 || p.ColumnCount != 7 {
		t.Fatalf("rows/cols = %d/%d", p.RowCount, p.ColumnCount)
	}
	mass := column(t, p, "body_mass_g")
	flip := column(t, p, "flipper_length_mm")
	if mass.MissingCount != 2 || mass.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC {
		t.Errorf("body_mass_g missing=%d type=%s", mass.MissingCount, semantic.Name(mass.SemanticType))
	}
	t.Logf("multimodality: body_mass_g %.3f (%v), flipper_length_mm %.3f (%v), bill_depth_mm %.3f (%v)",
		mass.Numeric.Multimodality, mass.Numeric.Multimodal, flip.Numeric.Multimodality, flip.Numeric.Multimodal,
		column(t, p, "bill_depth_mm").Numeric.Multimodality, column(t, p, "bill_depth_mm").Numeric.Multimodal)
	if !mass.Numeric.Multimodal && !flip.Numeric.Multimodal {
		t.Error("neither body_mass_g nor flipper_length_mm flagged multimodal")
	}
	// Reference: pandas describe() of body_mass_g: mean 4201.754386, std 801.954536, median 4050.
	if math.Abs(mass.Numeric.Mean-4201.754386) > 1e-5 || math.Abs(mass.Numeric.Std-801.954536) > 1e-5 || mass.Numeric.Median != 4050 {
		t.Errorf("body_mass_g stats %+v", mass.Numeric)
	}
	if column(t, p, "species").SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL {
		t.Error("species not categorical")
	}
	if mass.ChartId == "" {
		t.Error("no chart id")
	}
	ids := map[string]bool{}
	heatmap := false
	for _, c := range p.Charts {
		if err := vdsids.Check(c.Id, vdsids.Chart); err != nil || ids[c.Id] {
			t.Errorf("chart ID %q is not a fresh cht_ ID: %v", c.Id, err)
		}
		ids[c.Id] = true
		heatmap = heatmap || c.Kind == "heatmap"
		if c.VegaLite.Fields["$schema"].GetStringValue() != "https://vega.github.io/schema/vega-lite/v5.json" {
			t.Errorf("chart %s lacks schema", c.Id)
		}
	}
	for _, c := range p.Columns {
		if c.ChartId != "" && !ids[c.ChartId] {
			t.Errorf("column %s references missing chart %s", c.Name, c.ChartId)
		}
	}
	if !heatmap {
		t.Error("no correlation heatmap")
	}
	hasMI := false
	for _, c := range p.Correlations {
		if c.Method == "mutual_information" && c.ColumnB == "species" && c.ColumnA == "flipper_length_mm" && c.Value > 0.5 {
			hasMI = true
		}
	}
	if !hasMI {
		t.Error("no strong mutual information of flipper_length_mm with species")
	}

	hyps, findings := Hypotheses(f, p, "species", 0.05)
	found := map[string]bool{}
	for _, h := range hyps {
		if h.Survived && slices.Contains(h.Columns, "species") {
			for _, c := range h.Columns {
				found[c] = true
			}
		}
	}
	for _, c := range []string{"body_mass_g", "flipper_length_mm", "bill_length_mm"} {
		if !found[c] {
			t.Errorf("no surviving species difference for %s", c)
		}
	}
	if len(findings) == 0 {
		t.Fatal("no findings")
	}
	for _, fd := range findings[:3] {
		t.Logf("finding: %s\n  query: %s", fd.Statement, fd.Query)
		for _, k := range []string{"statistic", "p_value", "q_value", "effect_size", "n"} {
			if _, ok := fd.Values[k]; !ok {
				t.Errorf("finding lacks %s", k)
			}
		}
		if !strings.Contains(fd.Query, "FROM data") || fd.ChartId == "" {
			t.Errorf("finding query/chart: %q %q", fd.Query, fd.ChartId)
		}
	}
}

func TestTitanicLeakage(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/titanic.csv", false)
	p := mustProfile(t, f, Options{Target: "survived"})
	a := findAlert(p, "leakage", "alive")
	if a == nil {
		t.Fatalf("no leakage alert for alive; alerts: %v", alertKinds(p))
	}
	if a.Severity != commonv1.Severity_SEVERITY_CRITICAL || a.Evidence["uncertainty_coefficient"] < 0.99 {
		t.Errorf("leakage alert %v", a)
	}
	for _, other := range []string{"sex", "fare", "age", "pclass"} {
		if findAlert(p, "leakage", other) != nil {
			t.Errorf("false leakage alert for %s", other)
		}
	}
	if findAlert(p, "many_missing", "deck") == nil {
		t.Error("deck not flagged many_missing")
	}
	if column(t, p, "survived").SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN {
		t.Error("survived not boolean")
	}
	if findAlert(p, "imbalance", "survived") != nil {
		t.Error("survived (38% positive) flagged imbalanced")
	}
	if p.DuplicateRows != 107 {
		// pandas: titanic.duplicated().sum() == 107
		t.Errorf("duplicate rows = %d, want 107", p.DuplicateRows)
	}
	hyps, _ := Hypotheses(f, p, "survived", 0.05)
	for _, h := range hyps {
		if slices.Contains(h.Columns, "alive") && slices.Contains(h.Columns, "survived") {
			t.Error("leaked pair was tested as a hypothesis")
		}
		if slices.Contains(h.Columns, "pclass") && slices.Contains(h.Columns, "class") {
			t.Error("pclass vs class (one variable coded twice) was tested")
		}
	}
}

func TestTelco(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/telco_churn.csv", false)
	p := mustProfile(t, f, Options{Target: "Churn"})
	id := column(t, p, "customerID")
	if id.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER || findAlert(p, "identifier", "customerID") == nil {
		t.Errorf("customerID is %s", semantic.Name(id.SemanticType))
	}
	tc := column(t, p, "TotalCharges")
	if tc.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC || tc.MissingCount != 11 {
		t.Errorf("TotalCharges %s missing %d", semantic.Name(tc.SemanticType), tc.MissingCount)
	}
	if s := column(t, p, "SeniorCitizen").SemanticType; s != commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN {
		t.Errorf("SeniorCitizen is %s", semantic.Name(s))
	}
	if s := column(t, p, "Churn").SemanticType; s != commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN {
		t.Errorf("Churn is %s", semantic.Name(s))
	}
	if findAlert(p, "leakage", "") != nil {
		t.Errorf("unexpected leakage: %v", alertKinds(p))
	}
	// With the identifier kept as a string column its blank cells are kept too: the raw load has
	// " " in TotalCharges, which must show up as a placeholder problem.
	raw := loadCSV(t, "tabular/telco_churn.csv", true)
	rp := mustProfile(t, raw, Options{})
	if a := findAlert(rp, "placeholder", "TotalCharges"); a != nil {
		t.Errorf("blank-only cells are missing in raw mode too, got %v", a)
	}
}

func TestFlightsTrendSeasonality(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/flights.csv", false)
	// Build the monthly time index from year and month names.
	year, month := f.Col("year"), f.Col("month")
	tc := &frame.Column{Name: "date", Kind: frame.Time, ArrowType: "date32"}
	for i := 0; i < f.Rows; i++ {
		m, err := time.Parse("January", month.S[i])
		if err != nil {
			t.Fatal(err)
		}
		d := time.Date(int(year.F[i]), m.Month(), 1, 0, 0, 0, 0, time.UTC)
		tc.F = append(tc.F, float64(d.Unix()))
		tc.Null = append(tc.Null, false)
	}
	f.Columns = append(f.Columns, tc)
	p := mustProfile(t, f, Options{})
	dt := column(t, p, "date")
	if dt.Datetime == nil || dt.Datetime.Granularity != "month" || dt.Datetime.Gaps != 0 {
		t.Errorf("date stats %v", dt.Datetime)
	}
	tr := findAlert(p, "trend", "passengers")
	if tr == nil || tr.Evidence["tau"] <= 0.5 || tr.Evidence["p_value"] > 1e-6 {
		t.Fatalf("no rising trend: %v", alertKinds(p))
	}
	if a := findAlert(p, "change_point", "passengers"); a != nil {
		t.Errorf("a growing seasonal series is not a step: %s", a.Message)
	}
	se := findAlert(p, "seasonality", "passengers")
	if se == nil || se.Evidence["period"] != 12 || se.Evidence["acf"] < 0.6 {
		t.Fatalf("no 12-month seasonality: %v", se)
	}
	t.Logf("trend %v\nseasonality %v", tr.Message, se.Message)
	// The trend is also a tested hypothesis; reference from testdata/flights_trend.py.
	hyps, _ := Hypotheses(f, p, "", 0.05)
	var h *profilingv1.Hypothesis
	for _, x := range hyps {
		if x.Test == "mann_kendall" && slices.Equal(x.Columns, []string{"date", "passengers"}) {
			h = x
		}
	}
	if h == nil || !h.Survived || h.HasCi {
		t.Fatalf("passengers trend hypothesis %v", h)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"S", h.Statistic, 8327}, {"p", h.PValue, 6.750566761283967e-47}, {"tau", h.EffectSize, 0.8087606837606838}} {
		if math.Abs(c.got-c.want) > 1e-6*math.Abs(c.want) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
	want := "passengers rises over date by about 2.45 per month (Mann-Kendall trend test, p < 1e-10, q < 1e-10, Kendall's τ = 0.809, n = 144 observations from 1949-01-01 to 1960-12-01)."
	if h.Statement != want {
		t.Errorf("statement\n got %s\nwant %s", h.Statement, want)
	}
	if findAlert(p, "trend", "year") == nil {
		t.Log("year not flagged (fine either way)")
	}
}

func TestMessyFiles(t *testing.T) {
	t.Parallel()
	// all_null_column: empty_col is all missing, reported and charted safely.
	p := mustProfile(t, loadCSV(t, "messy/all_null_column.csv", false), Options{})
	if c := column(t, p, "empty_col"); c.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_EMPTY || findAlert(p, "all_missing", "empty_col") == nil {
		t.Errorf("empty_col: %s, alerts %v", semantic.Name(c.SemanticType), alertKinds(p))
	}
	// mixed_types: month mixes names, integers and 2021-03.
	p = mustProfile(t, loadCSV(t, "messy/mixed_types.csv", false), Options{})
	if findAlert(p, "mixed_types", "month") == nil {
		t.Errorf("month not flagged mixed_types: %v", alertKinds(p))
	}
	// numeric_with_placeholders: read raw, x holds placeholder strings (18 of them).
	p = mustProfile(t, loadCSV(t, "messy/numeric_with_placeholders.csv", true), Options{})
	if a := findAlert(p, "placeholder", "x"); a == nil {
		t.Errorf("x placeholders not flagged: %v", alertKinds(p))
	} else {
		// 18 placeholders; the raw loader already treats the empty cells as missing.
		c := column(t, p, "x")
		if got := a.Evidence["placeholders"] + float64(c.MissingCount); got != 18 {
			t.Errorf("placeholders %v + missing %d != 18 (%s)", a.Evidence["placeholders"], c.MissingCount, a.Message)
		}
	}
	// Read cleanly, x is numeric.
	p = mustProfile(t, loadCSV(t, "messy/numeric_with_placeholders.csv", false), Options{})
	if c := column(t, p, "x"); c.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC || c.MissingCount != 18 {
		t.Errorf("x: %s missing %d", semantic.Name(c.SemanticType), c.MissingCount)
	}
	// constant_and_string_target.
	p = mustProfile(t, loadCSV(t, "messy/constant_and_string_target.csv", false), Options{Target: "label"})
	if findAlert(p, "constant", "const_nan") == nil || findAlert(p, "near_constant", "near_const") == nil {
		t.Errorf("constant alerts: %v", alertKinds(p))
	}
	if c := column(t, p, "label"); c.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN {
		t.Errorf("label is %s", semantic.Name(c.SemanticType))
	}
	// leading_zero_ids: customer is an identifier.
	p = mustProfile(t, loadCSV(t, "messy/leading_zero_ids.csv", true), Options{})
	if c := column(t, p, "customer"); c.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER {
		t.Errorf("customer is %s", semantic.Name(c.SemanticType))
	}
	// very wide: bounded pair work.
	start := time.Now()
	wide := loadCSV(t, "messy/very_wide_2000_cols.csv", false)
	p = mustProfile(t, wide, Options{MaxPairColumns: 50})
	pairs := map[[2]string]bool{}
	for _, c := range p.Correlations {
		pairs[[2]string{c.ColumnA, c.ColumnB}] = true
	}
	if len(pairs) > 50*49/2 {
		t.Errorf("%d pairs for 2000 columns; want <= %d", len(pairs), 50*49/2)
	}
	t.Logf("2000-column profile: %v, %d correlations", time.Since(start), len(p.Correlations))
}

func TestDuplicatesAndImbalance(t *testing.T) {
	t.Parallel()
	n := 1000
	a := &frame.Column{Name: "a", Kind: frame.Float}
	b := &frame.Column{Name: "b", Kind: frame.Float}
	y := &frame.Column{Name: "y", Kind: frame.String}
	s := &frame.Column{Name: "s", Kind: frame.String}
	for i := 0; i < n; i++ {
		v := float64(i % 900) // rows 900..999 repeat rows 0..99
		a.F, a.Null = append(a.F, v), append(a.Null, false)
		b.F, b.Null = append(b.F, v), append(b.Null, false)
		lab := "no"
		if i%900 < 50 {
			lab = "yes"
		}
		y.S, y.Null = append(y.S, lab), append(y.Null, false)
		s.S, s.Null = append(s.S, fmt.Sprintf("v%d", i%900)), append(s.Null, false)
	}
	f := &frame.Frame{Columns: []*frame.Column{a, b, y, s}, Rows: n}
	p := mustProfile(t, f, Options{Target: "y"})
	if p.DuplicateRows != 100 {
		t.Errorf("duplicate rows %d", p.DuplicateRows)
	}
	if d := findAlert(p, "duplicate_columns", "a"); d == nil || !slices.Contains(d.Columns, "b") {
		t.Errorf("duplicate columns: %v", alertKinds(p))
	}
	if im := findAlert(p, "imbalance", "y"); im == nil || math.Abs(im.Evidence["minority_share"]-0.1) > 1e-9 {
		t.Errorf("imbalance: %v", im)
	}
}

func TestDistinctEstimate(t *testing.T) {
	t.Parallel()
	n := 300_000
	c := &frame.Column{Name: "k", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	for i := range c.S {
		c.S[i] = fmt.Sprintf("key-%d", i%250_000)
	}
	p := mustProfile(t, &frame.Frame{Columns: []*frame.Column{c}, Rows: n}, Options{})
	cp := p.Columns[0]
	if !cp.DistinctIsEstimate || math.Abs(float64(cp.DistinctCount)-250_000)/250_000 > 0.03 {
		t.Errorf("distinct %d estimate=%v", cp.DistinctCount, cp.DistinctIsEstimate)
	}
}

// plantedFrame has a two-group column, nPlanted numeric columns shifted by the group (d = 0.5),
// a correlated pair (r ≈ 0.4) and nNull independent noise columns.
func plantedFrame(seed uint64, n, nPlanted, nNull int) (*frame.Frame, func(a, b string) bool) {
	r := rand.New(rand.NewPCG(seed, 99))
	f := &frame.Frame{Rows: n}
	g := &frame.Column{Name: "group", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	grp := make([]float64, n)
	for i := range g.S {
		if r.IntN(2) == 1 {
			g.S[i], grp[i] = "treated", 1
		} else {
			g.S[i] = "control"
		}
	}
	f.Columns = append(f.Columns, g)
	num := func(name string, gen func(i int) float64) {
		c := &frame.Column{Name: name, Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
		for i := range c.F {
			c.F[i] = gen(i)
		}
		f.Columns = append(f.Columns, c)
	}
	for k := 0; k < nPlanted; k++ {
		num(fmt.Sprintf("effect%d", k), func(i int) float64 { return r.NormFloat64() + 0.5*grp[i] })
	}
	x := make([]float64, n)
	num("x1", func(i int) float64 { x[i] = r.NormFloat64(); return x[i] })
	num("x2", func(i int) float64 { return 0.4*x[i] + math.Sqrt(1-0.16)*r.NormFloat64() })
	for k := 0; k < nNull; k++ {
		if k%3 == 0 {
			c := &frame.Column{Name: fmt.Sprintf("nullcat%d", k), Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
			for i := range c.S {
				c.S[i] = []string{"a", "b", "c"}[r.IntN(3)]
			}
			f.Columns = append(f.Columns, c)
			continue
		}
		num(fmt.Sprintf("null%d", k), func(int) float64 { return r.ExpFloat64() })
	}
	isTrue := func(a, b string) bool {
		eff := func(s string) bool { return s == "group" || strings.HasPrefix(s, "effect") }
		if eff(a) && eff(b) {
			return true // the effect columns share the group, so they are dependent too
		}
		return (a == "x1" && b == "x2") || (a == "x2" && b == "x1")
	}
	return f, isTrue
}

func TestPlantedEffectsFDR(t *testing.T) {
	t.Parallel()
	var fdpSum float64
	seeds := 10
	for seed := 1; seed <= seeds; seed++ {
		f, isTrue := plantedFrame(uint64(seed), 1000, 6, 22)
		p := mustProfile(t, f, Options{})
		hyps, findings := Hypotheses(f, p, "group", 0.05)
		var disc, falseDisc, tested int
		found := map[string]bool{}
		for _, h := range hyps {
			tested++
			if !h.Survived {
				continue
			}
			disc++
			if !isTrue(h.Columns[0], h.Columns[1]) {
				falseDisc++
				t.Logf("seed %d false discovery: %s %v p=%.3g q=%.3g", seed, h.Test, h.Columns, h.PValue, h.QValue)
			}
			if slices.Contains(h.Columns, "group") {
				found[h.Columns[0]+h.Columns[1]] = true
			}
			if slices.Contains(h.Columns, "x1") && slices.Contains(h.Columns, "x2") {
				found["x"] = true
			}
		}
		if len(findings) != disc {
			t.Errorf("findings %d != discoveries %d", len(findings), disc)
		}
		if !found["x"] || len(found) < 6 {
			t.Errorf("seed %d: planted effects found %v", seed, found)
		}
		fdp := 0.0
		if disc > 0 {
			fdp = float64(falseDisc) / float64(disc)
		}
		fdpSum += fdp
		t.Logf("seed %d: %d tests, %d discoveries, %d false (FDP %.3f)", seed, tested, disc, falseDisc, fdp)
	}
	if avg := fdpSum / float64(seeds); avg > 0.10 {
		t.Errorf("average false discovery proportion %.3f > 0.10", avg)
	}
}

func TestEmptyInputs(t *testing.T) {
	t.Parallel()
	for _, f := range []*frame.Frame{
		{},
		{Columns: []*frame.Column{{Name: "x", Kind: frame.Float}, {Name: "s", Kind: frame.String}}},
	} {
		p := mustProfile(t, f, Options{})
		if p.RowCount != 0 {
			t.Errorf("rows %d", p.RowCount)
		}
		hyps, fds := Hypotheses(f, p, "", 0)
		if len(hyps)+len(fds) != 0 {
			t.Error("hypotheses on empty frame")
		}
	}
}

func TestComputeCancel(t *testing.T) {
	t.Parallel()
	f := benchFrame(50_000, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compute(ctx, f, Options{}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := Compute(context.Background(), f, Options{Target: "nope"}); err == nil {
		t.Error("unknown target: no error")
	}
}

// benchFrame is rows x cols of mixed data: numeric (normal, skewed, bimodal, integer), categorical
// strings and a boolean.
func benchFrame(rows, cols int) *frame.Frame {
	r := rand.New(rand.NewPCG(1, 2))
	f := &frame.Frame{Rows: rows}
	cats := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	for j := 0; j < cols; j++ {
		c := &frame.Column{Name: fmt.Sprintf("c%02d", j), Null: make([]bool, rows)}
		switch j % 5 {
		case 3:
			c.Kind = frame.String
			c.S = make([]string, rows)
			for i := range c.S {
				c.S[i] = cats[r.IntN(len(cats))]
			}
		default:
			c.Kind = frame.Float
			c.F = make([]float64, rows)
			for i := range c.F {
				switch j % 5 {
				case 0:
					c.F[i] = r.NormFloat64()
				case 1:
					c.F[i] = r.ExpFloat64() * 100
				case 2:
					c.F[i] = math.Round(r.NormFloat64()*10 + 50)
				case 4:
					c.F[i] = r.NormFloat64() + 4*float64(r.IntN(2))
				}
				if i%97 == 0 {
					c.F[i], c.Null[i] = math.NaN(), true
				}
			}
		}
		f.Columns = append(f.Columns, c)
	}
	return f
}

func BenchmarkCompute1Mx20(b *testing.B) {
	f := benchFrame(1_000_000, 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compute(context.Background(), f, Options{Target: "c03"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestProfileJSONSize(t *testing.T) {
	t.Parallel()
	p := mustProfile(t, benchFrame(200_000, 10), Options{})
	bs, _ := json.Marshal(p)
	if len(bs) > 2<<20 {
		t.Errorf("profile of 200k rows is %d bytes; data must be aggregated", len(bs))
	}
}

// TestTelcoFinding checks one finding end to end against testdata/telco_tenure.py (scipy 1.10.1):
// the test chosen, its numbers, the interval, the group sizes and the sentence that carries them.
func TestTelcoFinding(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/telco_churn.csv", false)
	p := mustProfile(t, f, Options{Target: "Churn"})
	hyps, findings := Hypotheses(f, p, "Churn", 0.05)
	var h *profilingv1.Hypothesis
	for _, x := range hyps {
		if slices.Equal(x.Columns, []string{"Churn", "tenure"}) {
			h = x
		}
	}
	if h == nil {
		t.Fatal("Churn vs tenure not tested")
	}
	rel := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %.17g, want %.17g", name, got, want)
		}
	}
	if h.Test != "mann_whitney_u" || !h.Survived || !h.HasCi {
		t.Fatalf("hypothesis %v", h)
	}
	rel("U", h.Statistic, 7154668.0)
	rel("p", h.PValue, 2.419635517951866e-208)
	rel("rank-biserial", h.EffectSize, 0.4797343510572578)
	rel("ci low", h.CiLow, 0.45588034704922625)
	rel("ci high", h.CiHigh, 0.5028996687502407)
	if !slices.Equal(h.GroupLabels, []string{"No", "Yes"}) || !slices.Equal(h.GroupSizes, []int64{5174, 1869}) || h.N != 7043 {
		t.Errorf("groups %v %v n %d", h.GroupLabels, h.GroupSizes, h.N)
	}
	// MonthlyCharges is near normal within each group: Welch t, churners (the larger mean) first.
	var w *profilingv1.Hypothesis
	for _, x := range hyps {
		if slices.Equal(x.Columns, []string{"Churn", "MonthlyCharges"}) {
			w = x
		}
	}
	if w == nil || w.Test != "welch_t" || !w.HasCi || !slices.Equal(w.GroupLabels, []string{"Yes", "No"}) {
		t.Fatalf("MonthlyCharges hypothesis %v", w)
	}
	rel("welch t", w.Statistic, 18.407526676414673)
	rel("welch p", w.PValue, 8.59244933154705e-73)
	rel("hedges g", w.EffectSize, 0.4462359576211899)
	rel("g low", w.CiLow, 0.3928363487876687)
	rel("g high", w.CiHigh, 0.4996355664547111)
	want := "Rows with Churn = No have a median tenure of 38 vs 10 for Churn = Yes (Mann-Whitney U test, p < 1e-10, q < 1e-10, rank-biserial r = 0.48 (95% CI 0.456 to 0.503), n = 7043: 5174 vs 1869)."
	if h.Statement != want {
		t.Errorf("statement\n got %s\nwant %s", h.Statement, want)
	}
	for _, fd := range findings {
		if fd.Statement == want {
			if err := vdsids.Check(fd.Id, vdsids.Finding); err != nil || fd.Values["ci_low"] != h.CiLow || fd.Values["n_Yes"] != 1869 {
				t.Errorf("finding %v: %v", fd, err)
			}
			return
		}
	}
	t.Error("no finding carries the statement")
}

func BenchmarkHypothesesNHEFS(b *testing.B) {
	f := loadCSV(b, "causal/nhefs.csv", false)
	p := mustProfile(b, f, Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Hypotheses(f, p, "", 0.05)
	}
}

func TestChangePoint(t *testing.T) {
	t.Parallel()
	const n, at = 600, 350
	r := rand.New(rand.NewPCG(7, 7))
	day0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tc := &frame.Column{Name: "day", Kind: frame.Time, ArrowType: "date32", F: make([]float64, n), Null: make([]bool, n)}
	mk := func(name string, gen func(i int) float64) *frame.Column {
		c := &frame.Column{Name: name, Kind: frame.Float, ArrowType: "double", F: make([]float64, n), Null: make([]bool, n)}
		for i := range c.F {
			c.F[i] = gen(i)
		}
		return c
	}
	for i := range tc.F {
		tc.F[i] = float64(day0.AddDate(0, 0, i).Unix())
	}
	step := mk("step", func(i int) float64 {
		if i >= at {
			return 3 + r.NormFloat64()
		}
		return r.NormFloat64()
	})
	noise := mk("noise", func(int) float64 { return r.NormFloat64() })
	line := mk("line", func(i int) float64 { return 0.01*float64(i) + r.NormFloat64() })
	// Shuffle the rows: the check must order by time itself.
	perm := r.Perm(n)
	for _, c := range []*frame.Column{tc, step, noise, line} {
		f := slices.Clone(c.F)
		for i, j := range perm {
			c.F[i] = f[j]
		}
	}
	p := mustProfile(t, &frame.Frame{Rows: n, Columns: []*frame.Column{tc, step, noise, line}}, Options{})
	a := findAlert(p, "change_point", "step")
	if a == nil {
		t.Fatalf("no change point for step: %v", alertKinds(p))
	}
	got := time.Unix(int64(a.Evidence["time"]), 0).UTC()
	if d := got.Sub(day0.AddDate(0, 0, at)); d < -3*24*time.Hour || d > 3*24*time.Hour {
		t.Errorf("change point at %v, want %v", got, day0.AddDate(0, 0, at))
	}
	if math.Abs(a.Evidence["mean_before"]) > 0.2 || math.Abs(a.Evidence["mean_after"]-3) > 0.2 {
		t.Errorf("means %v -> %v", a.Evidence["mean_before"], a.Evidence["mean_after"])
	}
	for _, c := range []string{"noise", "line"} {
		if a := findAlert(p, "change_point", c); a != nil {
			t.Errorf("false change point for %s: %s", c, a.Message)
		}
	}
	if findAlert(p, "trend", "line") == nil {
		t.Error("the line has no trend alert")
	}
}

func TestScaleMismatch(t *testing.T) {
	t.Parallel()
	const n = 1000
	r := rand.New(rand.NewPCG(3, 4))
	mk := func(name string, gen func(i int) float64) *frame.Column {
		c := &frame.Column{Name: name, Kind: frame.Float, ArrowType: "double", F: make([]float64, n), Null: make([]bool, n)}
		for i := range c.F {
			c.F[i] = gen(i)
		}
		return c
	}
	cols := []*frame.Column{
		mk("height", func(i int) float64 { // 5% recorded in metres among centimetres
			if i%20 == 0 {
				return 1.70 + 0.08*r.NormFloat64()
			}
			return 170 + 8*r.NormFloat64()
		}),
		mk("weight", func(i int) float64 { // 10% in grams among kilograms
			if i%10 == 0 {
				return 70000 + 8000*r.NormFloat64()
			}
			return 70 + 8*r.NormFloat64()
		}),
		mk("income", func(int) float64 { return math.Exp(10 + 1.5*r.NormFloat64()) }),
		mk("two_groups", func(i int) float64 { return []float64{10, 50}[i%2] + r.NormFloat64() }),
	}
	p := mustProfile(t, &frame.Frame{Rows: n, Columns: cols}, Options{})
	for _, c := range []struct {
		col           string
		factor, share float64
	}{{"height", 100, 0.05}, {"weight", 1000, 0.10}} {
		a := findAlert(p, "scale_mismatch", c.col)
		if a == nil {
			t.Errorf("%s: no scale_mismatch alert: %v", c.col, alertKinds(p))
			continue
		}
		if a.Evidence["factor"] != c.factor || math.Abs(a.Evidence["minority_share"]-c.share) > 1e-9 {
			t.Errorf("%s: %s %v", c.col, a.Message, a.Evidence)
		}
	}
	for _, c := range []string{"income", "two_groups"} {
		if a := findAlert(p, "scale_mismatch", c); a != nil {
			t.Errorf("false scale mismatch for %s: %s", c, a.Message)
		}
	}
}
