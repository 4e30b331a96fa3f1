package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/ids"
)

// IDTools are the operations the LLM planner calls on the platform's artifacts by ID, through the
// services (which check the caller's access: a foreign or missing ID is NotFound).
type IDTools interface {
	// Profile profiles the dataset (cached per version) and returns the profile.
	Profile(ctx context.Context, target string) (*profilingv1.Profile, error)
	// HypothesesOf tests hypotheses about target on an existing profile.
	HypothesesOf(ctx context.Context, profileID, target string) ([]*profilingv1.Hypothesis, error)
	// Model reads a model.
	Model(ctx context.Context, modelID string) (*mlv1.Model, error)
	// Explain explains a model (method permutation, shap or pdp).
	Explain(ctx context.Context, modelID, method string, columns []string) (*mlv1.ExplainResponse, error)
	// ExplainChange splits the change of outcome between two periods into mix and rate effects of segments.
	ExplainChange(ctx context.Context, outcome, timeColumn string, segments []string, split string) (*causalv1.ExplainChangeResponse, error)
	// Lineage walks upstream from an artifact.
	Lineage(ctx context.Context, artifactID string) (*lineagev1.GetLineageResponse, error)
}

// idTools are the LLM tools that take IDs or call the services directly (not a built-in plan).
var idTools = []toolSpec{
	{name: "profile", desc: "Profile the dataset: per-column statistics, alerts (missingness, leakage, skew…), strongest correlations. Returns the profile ID.", optional: []string{"target"}, columns: []string{"target"}},
	{name: "hypotheses", desc: "State and test hypotheses about a target column through the profiling engine (Benjamini-Hochberg FDR 0.05); optionally on a profile by its ID.", required: []string{"target"}, optional: []string{"profile_id"}, columns: []string{"target"}},
	{name: "train", desc: "Train and cross-validate AutoML models for a target column; returns the best model's ID, its score and importances.", required: []string{"target"}, optional: []string{"budget_seconds"}, columns: []string{"target"}},
	{name: "get_model", desc: "Read a model by its ID (mdl_…): algorithm, cross-validated score, features, importances.", required: []string{"model_id"}},
	{name: "explain", desc: "Explain a model by its ID (mdl_…): permutation importances, SHAP (mean |value|) or partial dependence of some columns.", required: []string{"model_id"}, optional: []string{"method", "columns"}, lists: []string{"columns"}, columns: []string{"columns"}},
	{name: "explain_change", desc: "Why an outcome changed between two periods of a time column (or the two values of a text column): the mix and rate effects of each segment.", required: []string{"outcome", "time"}, optional: []string{"segments", "split"}, lists: []string{"segments"}, columns: []string{"outcome", "time", "segments"}},
	{name: "make_chart", desc: "Draw a chart (bar, line or scatter) of a read-only SELECT over the dataset: x and y name columns of the query's result.", required: []string{"sql", "x", "y"}, optional: []string{"mark", "title"}},
	{name: "lineage", desc: "What an artifact was made from: give its ID (ds_…, prof_…, mdl_…, trn_…, est_…, cht_…, fnd_…, exe_…, ana_…).", required: []string{"artifact_id"}},
}

// lineagePrefixes are the kinds of IDs lineage is recorded for.
var lineagePrefixes = []string{ids.Dataset, ids.Profile, ids.Model, ids.Training, ids.Estimate, ids.Chart, ids.Finding, ids.Execution, ids.Analysis, ids.Upload}

// checkID verifies an ID's prefix and shape before it is sent anywhere.
func checkID(arg, id string, prefixes ...string) error {
	base := id
	if ids.Prefix(id) == ids.Dataset {
		// A dataset version's artifact is "ds_….vN".
		if b, v, ok := strings.Cut(id, ".v"); ok {
			if _, err := strconv.Atoi(v); err != nil {
				return fmt.Errorf("argument %s = %q is not a valid ID", arg, id)
			}
			base = b
		}
	}
	p := ids.Prefix(base)
	if !contains(prefixes, p) {
		return fmt.Errorf("argument %s = %q is not an ID of the right kind (expected %s_…)", arg, id, strings.Join(prefixes, "_…, "))
	}
	if err := ids.Check(base, p); err != nil {
		return fmt.Errorf("argument %s: %v", arg, err)
	}
	return nil
}

// validateIDTool checks the arguments of the ID tools that validate() does not know.
func validateIDTool(name string, args map[string]string) error {
	switch name {
	case "hypotheses":
		if p := args["profile_id"]; p != "" {
			return checkID("profile_id", p, ids.Profile)
		}
	case "train":
		if b := args["budget_seconds"]; b != "" {
			v, err := strconv.ParseFloat(b, 64)
			if err != nil || v < 1 || v > 600 {
				return fmt.Errorf("budget_seconds = %q must be a number of seconds between 1 and 600", b)
			}
		}
	case "get_model":
		return checkID("model_id", args["model_id"], ids.Model)
	case "explain":
		if err := checkID("model_id", args["model_id"], ids.Model); err != nil {
			return err
		}
		if m := args["method"]; m != "" && !contains([]string{"permutation", "shap", "pdp"}, m) {
			return fmt.Errorf("method %q must be permutation, shap or pdp", m)
		}
	case "make_chart":
		if m := args["mark"]; m != "" && !contains([]string{"bar", "line", "scatter"}, m) {
			return fmt.Errorf("mark %q must be bar, line or scatter", m)
		}
		return readOnlySQL("make_chart", args["sql"])
	case "lineage":
		return checkID("artifact_id", args["artifact_id"], lineagePrefixes...)
	}
	return nil
}

func readOnlySQL(tool, q string) error {
	low := strings.ToLower(strings.TrimSpace(q))
	if !(strings.HasPrefix(low, "select") || strings.HasPrefix(low, "with")) || strings.Contains(strings.TrimRight(low, "; \n"), ";") {
		return fmt.Errorf("%s takes one read-only SELECT (or WITH … SELECT) statement", tool)
	}
	return nil
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

// executeID runs one validated ID tool and returns the summary the model sees. Its key numbers
// become the answer's named values.
func (l *LLM) executeID(ctx context.Context, name string, tools Tools, s *Schema, o Options, st *orchestratorv1.PlanStep, args map[string]string, final *Result, send func(*orchestratorv1.Event)) string {
	idt, _ := tools.(IDTools)
	call := &orchestratorv1.ToolCall{StepId: st.Id, Tool: name, Arguments: map[string]string{"dataset_id": s.DatasetID}}
	for k, v := range args {
		call.Arguments[k] = strings.ReplaceAll(v, "\n", ", ")
	}
	val := func(k string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			final.Answer.Values[k] = v
		}
	}
	var out string
	var err error
	switch {
	case name == "make_chart":
		return l.makeChart(ctx, tools, s, o, st, args, final, send)
	case name == "hypotheses" && args["profile_id"] == "":
		var hs []*profilingv1.Hypothesis
		if hs, err = tools.Hypotheses(ctx, args["target"]); err == nil {
			out = summarizeHypotheses(hs, val)
		}
	case name == "train":
		budget := 10 * time.Second
		if b, e := strconv.ParseFloat(args["budget_seconds"], 64); e == nil {
			budget = time.Duration(b * float64(time.Second))
		}
		var m *mlv1.Model
		if m, err = tools.Train(ctx, args["target"], budget); err == nil {
			out = summarizeModel(m, val)
		}
	case idt == nil:
		err = errors.New(name + " is not available here")
	case name == "profile":
		var p *profilingv1.Profile
		if p, err = idt.Profile(ctx, args["target"]); err == nil {
			out = summarizeProfile(p, val)
		}
	case name == "hypotheses":
		var hs []*profilingv1.Hypothesis
		if hs, err = idt.HypothesesOf(ctx, args["profile_id"], args["target"]); err == nil {
			out = summarizeHypotheses(hs, val)
		}
	case name == "get_model":
		var m *mlv1.Model
		if m, err = idt.Model(ctx, args["model_id"]); err == nil {
			out = summarizeModel(m, val)
		}
	case name == "explain":
		var e *mlv1.ExplainResponse
		if e, err = idt.Explain(ctx, args["model_id"], args["method"], splitList(args["columns"])); err == nil {
			out = summarizeExplain(args["model_id"], orDefault(args["method"], "permutation"), e, val)
			for _, c := range e.Charts {
				final.Charts = append(final.Charts, c)
				send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Chart{Chart: c}})
			}
		}
	case name == "explain_change":
		var c *causalv1.ExplainChangeResponse
		if c, err = idt.ExplainChange(ctx, args["outcome"], args["time"], splitList(args["segments"]), args["split"]); err == nil {
			out = summarizeChange(args["outcome"], c, val)
			final.Findings = append(final.Findings, c.Findings...)
		}
	case name == "lineage":
		var g *lineagev1.GetLineageResponse
		if g, err = idt.Lineage(ctx, args["artifact_id"]); err == nil {
			out = summarizeLineage(g)
		}
	default:
		err = errors.New("unknown tool " + name)
	}
	if err != nil {
		call.Error = err.Error()
		send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: call}})
		return "error: " + err.Error()
	}
	call.ResultSummary = truncateStr(out, 400)
	call.ArtifactIds = artifactIDs(out)
	send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: call}})
	return out
}

// makeChart runs the query and draws its x and y columns with libs/charts.
func (l *LLM) makeChart(ctx context.Context, tools Tools, s *Schema, o Options, st *orchestratorv1.PlanStep, args map[string]string, final *Result, send func(*orchestratorv1.Event)) string {
	r := &run{ctx: ctx, tools: tools, s: s, emit: send, res: &Result{}, values: map[string]float64{}, filter: o.Filter, step: st, turns: map[string]*orchestratorv1.DebateTurn{}}
	t, err := r.sql("model's chart query", args["sql"])
	if err != nil {
		return "error: " + err.Error()
	}
	xi, yi := -1, -1
	for j, c := range t.Columns {
		if strings.EqualFold(c, args["x"]) {
			xi = j
		}
		if strings.EqualFold(c, args["y"]) {
			yi = j
		}
	}
	if xi < 0 || yi < 0 {
		return fmt.Sprintf("refused: x = %q and y = %q must be columns of the query's result (%s)", args["x"], args["y"], strings.Join(t.Columns, ", "))
	}
	if len(t.Rows) == 0 {
		return "refused: the query returned no rows to draw"
	}
	x, y := t.Columns[xi], t.Columns[yi]
	ys := make([]float64, len(t.Rows))
	for i := range t.Rows {
		ys[i] = t.Float(i, yi)
		if math.IsNaN(ys[i]) && t.Rows[i][yi] != nil {
			return fmt.Sprintf("refused: y = %q must be numeric (row %d is %q)", y, i+1, t.Str(i, yi))
		}
	}
	mark := args["mark"]
	if mark == "" {
		mark = "bar"
		if _, ok := t.Rows[0][xi].(time.Time); ok {
			mark = "line"
		} else if _, ok := t.Rows[0][xi].(float64); ok && len(t.Rows) > 50 {
			mark = "scatter"
		}
	}
	title := orDefault(args["title"], y+" by "+x)
	var spec charts.Spec
	switch mark {
	case "bar":
		if len(t.Rows) > 200 {
			return fmt.Sprintf("refused: a bar chart takes at most 200 bars; the query returned %d rows (aggregate it)", len(t.Rows))
		}
		cats := make([]string, len(t.Rows))
		for i := range t.Rows {
			cats[i] = t.Str(i, xi)
		}
		spec = charts.Bar(title, x, cats, ys)
		// The bar's value axis is the query's column, not a count of rows.
		if enc, ok := spec["encoding"].(charts.Spec); ok {
			if yEnc, ok := enc["y"].(charts.Spec); ok {
				yEnc["title"] = y
			}
		}
	case "line":
		ts := make([]time.Time, len(t.Rows))
		for i := range t.Rows {
			tv, ok := t.Rows[i][xi].(time.Time)
			if !ok {
				return fmt.Sprintf("refused: a line chart needs a date or time x; %q is %q", x, t.Str(i, xi))
			}
			ts[i] = tv
		}
		spec = charts.Line(title, x, y, ts, ys)
	case "scatter":
		xs := make([]float64, len(t.Rows))
		for i := range t.Rows {
			if xs[i] = t.Float(i, xi); math.IsNaN(xs[i]) && t.Rows[i][xi] != nil {
				return fmt.Sprintf("refused: a scatter chart needs a numeric x; %q is %q", x, t.Str(i, xi))
			}
		}
		spec = charts.Scatter(title, x, y, xs, ys)
	}
	r.chart(title, mark, spec, "SQL on "+s.DatasetID+": "+truncateStr(args["sql"], 500))
	if len(r.res.Charts) == 0 {
		return "error: the chart could not be built"
	}
	c := r.res.Charts[0]
	final.Charts = append(final.Charts, c)
	return fmt.Sprintf("chart %s (%s, %d points) shown to the user. Data: %s", c.Id, mark, len(t.Rows), summarize(t, l.cfg.ResultTokens*2))
}

func summarizeProfile(p *profilingv1.Profile, val func(string, float64)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %d rows, %d columns, %d duplicate rows.", p.Id, p.RowCount, p.ColumnCount, p.DuplicateRows)
	val("rows", float64(p.RowCount))
	val("duplicate_rows", float64(p.DuplicateRows))
	b.WriteString("\nColumns:")
	for _, c := range p.Columns {
		fmt.Fprintf(&b, "\n- %s: %d missing, %d distinct", c.Name, c.MissingCount, c.DistinctCount)
		if n := c.Numeric; n != nil {
			fmt.Fprintf(&b, ", mean %s, sd %s, min %s, median %s, max %s", trimFloat(n.Mean), trimFloat(n.Std), trimFloat(n.Min), trimFloat(n.Median), trimFloat(n.Max))
		} else if len(c.TopValues) > 0 {
			var tv []string
			for _, v := range c.TopValues[:min(3, len(c.TopValues))] {
				tv = append(tv, fmt.Sprintf("%s (%d)", v.Value, v.Count))
			}
			b.WriteString(", top " + strings.Join(tv, ", "))
		}
	}
	if len(p.Alerts) > 0 {
		b.WriteString("\nAlerts:")
		for _, a := range p.Alerts {
			fmt.Fprintf(&b, "\n- %s: %s", a.Kind, a.Message)
		}
	}
	cs := append([]*profilingv1.Correlation{}, p.Correlations...)
	sort.SliceStable(cs, func(i, j int) bool { return math.Abs(cs[i].Value) > math.Abs(cs[j].Value) })
	if len(cs) > 0 {
		b.WriteString("\nStrongest associations:")
		for _, c := range cs[:min(8, len(cs))] {
			fmt.Fprintf(&b, "\n- %s ~ %s: %s %s", c.ColumnA, c.ColumnB, c.Method, trimFloat(c.Value))
		}
	}
	return b.String()
}

func summarizeHypotheses(hs []*profilingv1.Hypothesis, val func(string, float64)) string {
	var b strings.Builder
	sorted := append([]*profilingv1.Hypothesis{}, hs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].QValue < sorted[j].QValue })
	surv := 0
	for _, h := range sorted {
		if h.QValue <= 0.05 {
			surv++
		}
	}
	fmt.Fprintf(&b, "%d hypotheses tested (Benjamini-Hochberg at 0.05): %d survive, %d do not.", len(hs), surv, len(hs)-surv)
	val("hypotheses_tested", float64(len(hs)))
	val("hypotheses_surviving", float64(surv))
	// The strongest survivors and the nearest misses, within the budget.
	shown, missed := 0, 0
	for _, h := range sorted {
		verdict := "survives"
		if h.QValue > 0.05 {
			verdict = "does not survive"
			if missed++; missed > 8 {
				break
			}
		} else if shown++; shown > 15 {
			continue
		}
		fmt.Fprintf(&b, "\n- %s [%s; %s %s; p=%.3g; q=%.3g; n=%d] %s", h.Statement, h.Test, h.EffectSizeName, trimFloat(h.EffectSize), h.PValue, h.QValue, h.N, verdict)
	}
	return b.String()
}

func summarizeModel(m *mlv1.Model, val func(string, float64)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s (training %s): %s predicting %s, cross-validated %s %s ± %s over %d folds; %d features.",
		m.Id, m.TrainingId, m.Algorithm, m.Target, m.Metric, trimFloat(m.CvScore), trimFloat(m.CvStd), m.CvFolds, len(m.Features))
	val("cv_"+m.Metric, m.CvScore)
	imps := append([]*mlv1.FeatureImportance{}, m.Importances...)
	sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
	if len(imps) > 0 {
		b.WriteString("\nPermutation importances:")
		for _, f := range imps[:min(10, len(imps))] {
			fmt.Fprintf(&b, " %s=%s;", f.Feature, trimFloat(f.Importance))
		}
	}
	return b.String()
}

func summarizeExplain(modelID, method string, e *mlv1.ExplainResponse, val func(string, float64)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s explanation of model %s.", method, modelID)
	imps := append([]*mlv1.FeatureImportance{}, e.Importances...)
	sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
	for i, f := range imps {
		if i < 15 {
			fmt.Fprintf(&b, "\n- %s: %s (sd %s)", f.Feature, trimFloat(f.Importance), trimFloat(f.Std))
		}
		if i < 5 {
			val(method+"("+f.Feature+")", f.Importance)
		}
	}
	for _, pd := range e.PartialDependence {
		fmt.Fprintf(&b, "\nPartial dependence of %s on %s:", pd.Output, pd.Column)
		for i := range pd.Values {
			if i < len(pd.MeanPrediction) && i < 20 {
				fmt.Fprintf(&b, " %s→%s;", pd.Values[i], trimFloat(pd.MeanPrediction[i]))
			}
		}
	}
	if len(e.Charts) > 0 {
		fmt.Fprintf(&b, "\n%d chart(s) shown to the user.", len(e.Charts))
	}
	return b.String()
}

func summarizeChange(outcome string, c *causalv1.ExplainChangeResponse, val func(string, float64)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s went from %s (n=%d) to %s (n=%d), a change of %s.", outcome, trimFloat(c.Before), c.NBefore, trimFloat(c.After), c.NAfter, trimFloat(c.After-c.Before))
	val("before("+outcome+")", c.Before)
	val("after("+outcome+")", c.After)
	if c.BestColumn != "" {
		fmt.Fprintf(&b, " The segments of %s explain most of it.", c.BestColumn)
	}
	ds := append([]*causalv1.ChangeDriver{}, c.Drivers...)
	sort.SliceStable(ds, func(i, j int) bool {
		return math.Abs(ds[i].MixEffect+ds[i].RateEffect) > math.Abs(ds[j].MixEffect+ds[j].RateEffect)
	})
	for _, d := range ds[:min(12, len(ds))] {
		fmt.Fprintf(&b, "\n- %s: mix %s, rate %s (share %s→%s, rate %s→%s)", d.Segment, trimFloat(d.MixEffect), trimFloat(d.RateEffect),
			trimFloat(d.ShareBefore), trimFloat(d.ShareAfter), trimFloat(d.RateBefore), trimFloat(d.RateAfter))
	}
	for _, e := range c.DriverEffects {
		switch {
		case e.Error != "":
			fmt.Fprintf(&b, "\nEffect of %s: not estimated (%s)", e.Treatment, truncateStr(e.Error, 160))
		case e.Estimate != nil:
			fmt.Fprintf(&b, "\nEffect of %s on %s: %s (95%% CI %s to %s), %s: %s", e.Treatment, outcome, trimFloat(e.Estimate.Ate),
				trimFloat(e.Estimate.CiLow), trimFloat(e.Estimate.CiHigh), e.Label, truncateStr(e.Reason, 160))
		}
	}
	return b.String()
}

func summarizeLineage(g *lineagev1.GetLineageResponse) string {
	var b strings.Builder
	if r := g.Root; r != nil {
		fmt.Fprintf(&b, "%s (%s%s) was made from:", r.Id, r.Kind, labelOf(r.Label))
	}
	kinds := map[string]*lineagev1.Artifact{}
	for _, a := range g.Artifacts {
		kinds[a.Id] = a
	}
	for _, e := range g.Edges {
		from := e.FromId
		if a := kinds[from]; a != nil && a.Kind != "" {
			from += " (" + a.Kind + labelOf(a.Label) + ")"
		}
		var ps []string
		keys := make([]string, 0, len(e.Params))
		for k := range e.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps = append(ps, k+"="+truncateStr(e.Params[k], 80))
		}
		fmt.Fprintf(&b, "\n- %s → %s by %s %s", from, e.ToId, e.Operation, strings.Join(ps, " "))
	}
	if len(g.Edges) == 0 {
		b.WriteString(" nothing recorded (an original upload).")
	}
	return b.String()
}

func labelOf(l string) string {
	if l == "" {
		return ""
	}
	return ": " + truncateStr(l, 60)
}

// artifactIDRE finds the platform's IDs in a tool result.
var artifactIDRE = regexp.MustCompile(`\b(?:prof|mdl|trn|est|cht|fnd|exe|ana)_[0-9a-f]{32}\b`)

// artifactIDs are the distinct IDs a tool result names, in order.
func artifactIDs(out string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range artifactIDRE.FindAllString(out, 20) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
