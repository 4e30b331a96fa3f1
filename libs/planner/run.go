package planner

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/ids"
)

// Table is a small query result: column names and rows of float64, string, bool, time.Time or nil.
type Table struct {
	Columns []string
	Rows    [][]any
}

// Float returns cell (i, j) as a number (NaN when it is not one).
func (t *Table) Float(i, j int) float64 {
	if t == nil || i >= len(t.Rows) || j >= len(t.Rows[i]) {
		return math.NaN()
	}
	switch v := t.Rows[i][j].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case bool:
		if v {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// Str returns cell (i, j) as text.
func (t *Table) Str(i, j int) string {
	if t == nil || i >= len(t.Rows) || j >= len(t.Rows[i]) || t.Rows[i][j] == nil {
		return ""
	}
	switch v := t.Rows[i][j].(type) {
	case string:
		return v
	case float64:
		return trimFloat(v)
	case time.Time:
		return v.Format("2006-01-02")
	}
	return fmt.Sprint(t.Rows[i][j])
}

// Tools are the platform's operations the planner calls, each on the dataset by ID.
type Tools interface {
	// SQL runs a read-only DuckDB query in the sandbox over the dataset, visible as table "data".
	SQL(ctx context.Context, query string) (*Table, error)
	// Hypotheses profiles the dataset and tests hypotheses about target with false-discovery control.
	Hypotheses(ctx context.Context, target string) ([]*profilingv1.Hypothesis, error)
	// Train runs AutoML for target and returns the best model (with permutation importances).
	Train(ctx context.Context, target string, budget time.Duration) (*mlv1.Model, error)
	// Effect estimates the average effect of treatment on outcome adjusting for confounders.
	Effect(ctx context.Context, treatment, outcome string, confounders []string) (*causalv1.Estimate, error)
	// Python runs analysis code in the sandbox (the dataset loads with vds.load("data")) and returns its standard output.
	Python(ctx context.Context, code string) (string, error)
}

// Result is what one question produced.
type Result struct {
	Intent   Intent
	Answer   *orchestratorv1.Answer
	Findings []*commonv1.Finding
	Charts   []*commonv1.Chart
	Debate   []*orchestratorv1.DebateTurn
}

// run is one question being answered.
type run struct {
	ctx    context.Context
	tools  Tools
	s      *Schema
	emit   func(*orchestratorv1.Event)
	res    *Result
	step   *orchestratorv1.PlanStep
	steps  []*orchestratorv1.PlanStep
	values map[string]float64
	// used are the columns the answer rests on (for the engineer's checks).
	used []string
	// tests counts the significance tests run for this answer (for multiple-testing control).
	tests int
	// filter is the extra WHERE clause that restricts the data (from the conversation's selections).
	filter string
	budget time.Duration
	turns  map[string]*orchestratorv1.DebateTurn
	main   mainStat
	// drivers ranked, and the hypotheses tested (drivers plan).
	drivers    []string
	hypTested  int
	hypSurvive int
	// hypTarget counts the passed hypotheses that involve the target.
	hypTarget int
	leaks     []string
	effectEst *causalv1.Estimate
	flags     []string
	// unit is the trend's period unit once known.
	unit string
}

// Options tune Answer.
type Options struct {
	// Filter is a SQL condition every query adds (what the user clicked), empty for none.
	Filter string
	// TrainBudget bounds model training in drivers and predict plans (default 8 s).
	TrainBudget time.Duration
	// Previous is the conversation's last answered intent, for follow-up questions.
	Previous *Intent
	// History is the conversation so far, oldest first (the LLM planner shows it to the model).
	History []Exchange
}

// Exchange is one earlier question of a conversation, its answer and the artifacts it made.
type Exchange struct {
	Question, Answer string
	// Artifacts are the IDs the answer's tool calls made or used (profiles, models, charts…).
	Artifacts []string
}

// Answer runs the built-in planner on one question: recognise the intent (in the context of the
// conversation's previous one, o.Previous), emit the plan, run each step through tools, hold the
// debate and emit the answer. Every event also goes to emit as it happens.
func Answer(ctx context.Context, tools Tools, s *Schema, question string, o Options, emit func(*orchestratorv1.Event)) (*Result, error) {
	in := RecognizeIn(s, question, o.Previous)
	return AnswerIntent(ctx, tools, s, in, o, emit)
}

// AnswerIntent runs the fixed plan of an already recognised intent.
func AnswerIntent(ctx context.Context, tools Tools, s *Schema, in Intent, o Options, emit func(*orchestratorv1.Event)) (*Result, error) {
	if emit == nil {
		emit = func(*orchestratorv1.Event) {}
	}
	filter := o.Filter
	if fs := filtersSQL(in.Filters); fs != "" {
		if filter != "" {
			filter = "(" + filter + ") AND "
		}
		filter += fs
	}
	r := &run{ctx: ctx, tools: tools, s: s, emit: emit, res: &Result{Intent: in}, values: map[string]float64{}, filter: filter,
		budget: o.TrainBudget, turns: map[string]*orchestratorv1.DebateTurn{}}
	if r.budget <= 0 {
		r.budget = 8 * time.Second
	}
	if in.Kind == Clarify {
		r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Clarification{Clarification: in.Clarification}, Intent: in.Proto()})
		r.res.Answer = &orchestratorv1.Answer{Text: in.Clarification, Values: map[string]float64{}, Confidence: "none"}
		r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Answer{Answer: r.res.Answer}})
		return r.res, nil
	}
	plan := r.plan(in)
	var names []string
	for i, p := range plan {
		st := &orchestratorv1.PlanStep{Id: fmt.Sprintf("s%d", i+1), Tool: p.tool, Description: p.desc}
		r.steps = append(r.steps, st)
		names = append(names, p.desc)
	}
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: fmt.Sprintf("Intent %s. Plan: %s.", in, strings.Join(names, "; "))}, Plan: r.steps, Intent: in.Proto()})
	var text string
	for i, p := range plan {
		r.step = r.steps[i]
		r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_StepStarted{StepStarted: r.step}})
		t, err := p.run()
		if err != nil {
			if ctx.Err() != nil {
				return r.res, ctx.Err()
			}
			return r.res, fmt.Errorf("%s: %w", p.desc, err)
		}
		if t != "" {
			text = t
		}
		r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_StepFinished{StepFinished: r.step}})
	}
	conf, why := r.synthesis()
	if len(in.Filters) > 0 {
		text = "For the rows where " + filterWords(in.Filters) + ": " + text
	}
	if len(in.Ignored) > 0 {
		// The question named rows this plan cannot restrict to: say so, and do not claim high confidence.
		why = strings.TrimSpace(why + " I did not apply " + filterWords(in.Ignored) + ": this analysis uses every row; ask for a comparison or a summary to restrict the rows.")
		if conf == "high" {
			conf = "medium"
		}
	}
	// A statistic that could not be computed (the sd of one row, a test of one-row groups) is NaN:
	// it is left out of the values (JSON has no NaN; the --format json answer failed on it).
	for k, v := range r.values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(r.values, k)
		}
	}
	r.res.Answer = &orchestratorv1.Answer{Text: strings.TrimSpace(text + " " + why), Values: r.values, Confidence: conf}
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Answer{Answer: r.res.Answer}})
	return r.res, nil
}

type planStep struct {
	tool, desc string
	run        func() (string, error)
}

func (r *run) send(ev *orchestratorv1.Event) {
	ev.Time = timestamppb.Now()
	r.emit(ev)
}

// sql runs a query as a tool call, with the conversation's filter applied to the data.
func (r *run) sql(purpose, query string) (*Table, error) {
	if r.filter != "" {
		cte := "data AS (SELECT * FROM data WHERE " + r.filter + ")"
		if t := strings.TrimSpace(query); len(t) > 5 && strings.EqualFold(t[:5], "with ") {
			query = "WITH " + cte + ", " + t[5:]
		} else {
			query = "WITH " + cte + " " + query
		}
	}
	t, err := r.tools.SQL(r.ctx, query)
	tc := &orchestratorv1.ToolCall{StepId: r.stepID(), Tool: "run_sql", Arguments: map[string]string{"dataset_id": r.s.DatasetID, "purpose": purpose, "sql": query}}
	if err != nil {
		tc.Error = err.Error()
	} else {
		tc.ResultSummary = summarize(t, 400)
	}
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: tc}})
	return t, err
}

func (r *run) stepID() string {
	if r.step == nil {
		return ""
	}
	return r.step.Id
}

func (r *run) toolEvent(tool string, args map[string]string, summary string, err error, artifacts ...string) {
	tc := &orchestratorv1.ToolCall{StepId: r.stepID(), Tool: tool, Arguments: args, ResultSummary: summary, ArtifactIds: artifacts}
	if err != nil {
		tc.Error = err.Error()
	}
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: tc}})
}

func (r *run) finding(statement, test string, cols []string, query string, vals map[string]float64) *commonv1.Finding {
	f := &commonv1.Finding{Id: ids.New(ids.Finding), Statement: statement, Test: test, Columns: cols, Query: query, Values: vals}
	r.res.Findings = append(r.res.Findings, f)
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Finding{Finding: f}})
	return f
}

func (r *run) chart(title, kind string, spec charts.Spec, source string) {
	st, err := charts.ToStruct(spec)
	if err != nil {
		return
	}
	c := &commonv1.Chart{Id: ids.New(ids.Chart), Title: title, Kind: kind, VegaLite: st, Source: source}
	r.res.Charts = append(r.res.Charts, c)
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Chart{Chart: c}})
}

func (r *run) addChart(c *commonv1.Chart) {
	if c == nil {
		return
	}
	r.res.Charts = append(r.res.Charts, c)
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Chart{Chart: c}})
}

// claim records one piece of evidence for a debate role; the turn is emitted when the role finishes.
func (r *run) claim(role, evidence string) {
	t := r.turns[role]
	if t == nil {
		t = &orchestratorv1.DebateTurn{Role: role}
		r.turns[role] = t
	}
	t.Evidence = append(t.Evidence, evidence)
}

func (r *run) turn(role, claim string) {
	t := r.turns[role]
	if t == nil {
		t = &orchestratorv1.DebateTurn{Role: role}
		r.turns[role] = t
	}
	t.Claim = claim
	r.res.Debate = append(r.res.Debate, t)
	r.send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Debate{Debate: t}})
}

// q quotes an identifier for DuckDB.
func q(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// text is the SQL expression that names a column's values as groups in answers: the value as text,
// or for a boolean column the spellings its file used ("Yes"/"No" rather than true/false).
func (r *run) text(col string) string {
	if c := r.s.Col(col); c != nil && c.Type == "boolean" && c.TrueLabel != "" && c.FalseLabel != "" {
		return fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN NULL WHEN CAST(%[1]s AS BOOLEAN) THEN %[2]s ELSE %[3]s END", q(col), lit(c.TrueLabel), lit(c.FalseLabel))
	}
	return "CAST(" + q(col) + " AS VARCHAR)"
}

// lit quotes a string literal for DuckDB.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// expr is the numeric SQL expression of a measure: the number itself, 1/0 for a boolean, or 1/0 for
// the positive class of a two-valued column.
func (r *run) expr(col string) string {
	c := r.s.Col(col)
	switch {
	case c == nil:
		return q(col)
	case c.IsNumeric():
		return "CAST(" + q(col) + " AS DOUBLE)"
	case c.Type == "boolean":
		return "CAST(" + q(col) + " AS DOUBLE)"
	default:
		pos := PositiveClass(c)
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL WHEN CAST(%s AS VARCHAR) = %s THEN 1.0 ELSE 0.0 END", q(col), q(col), lit(pos))
	}
}

// PositiveClass is the value of a two-valued column counted as "yes": a yes-like value, else the rarer one (the last listed).
func PositiveClass(c *Column) string {
	for _, v := range c.Values {
		switch strings.ToLower(v) {
		case "yes", "true", "y", "1", "positive", "churned", "survived", "t":
			return v
		}
	}
	if len(c.Values) > 0 {
		return c.Values[len(c.Values)-1]
	}
	return ""
}

// label names a measure in words: "rate of Churn = Yes", "mean fare".
func (r *run) label(agg, col string) string {
	c := r.s.Col(col)
	if agg == "rate" && c != nil && !c.IsNumeric() {
		if c.Type == "boolean" {
			return fmt.Sprintf("share of %s = %s", col, orDefault(c.TrueLabel, "true"))
		}
		return fmt.Sprintf("share of %s = %s", col, PositiveClass(c))
	}
	if agg == "rate" {
		return "rate of " + col
	}
	if w, ok := aggWords[agg]; ok {
		return w + " " + col
	}
	return agg + " " + col
}

// aggWords name aggregates in answers ("the total tip by day", not "the sum tip by day").
var aggWords = map[string]string{"sum": "total", "count": "number of", "max": "maximum", "min": "minimum", "std": "standard deviation of"}

func aggSQL(agg, e string) string {
	switch agg {
	case "median":
		return "median(" + e + ")"
	case "sum":
		return "sum(" + e + ")"
	case "count":
		return "count(*)"
	case "max":
		return "max(" + e + ")"
	case "min":
		return "min(" + e + ")"
	case "std":
		return "stddev_samp(" + e + ")"
	}
	return "avg(" + e + ")"
}

// Key is the name of a value in an answer: "mean(fare)", "rate(Churn)|Contract=Month-to-month".
func Key(agg, col string, group ...string) string {
	k := agg + "(" + col + ")"
	if len(group) == 2 {
		k += "|" + group[0] + "=" + group[1]
	}
	return k
}

func summarize(t *Table, budget int) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d row(s): %s", len(t.Rows), strings.Join(t.Columns, ", "))
	for i := range t.Rows {
		if b.Len() > budget {
			fmt.Fprintf(&b, "; … %d more", len(t.Rows)-i)
			break
		}
		var cells []string
		for j := range t.Columns {
			cells = append(cells, t.Str(i, j))
		}
		b.WriteString("; " + strings.Join(cells, " | "))
	}
	return b.String()
}

func trimFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// f3 formats a number for prose.
func f3(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	case a >= 1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func sortedKeys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
