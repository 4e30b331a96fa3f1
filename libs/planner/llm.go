package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// LLMConfig points the LLM planner at an OpenAI-compatible chat-completions endpoint.
type LLMConfig struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1.
	BaseURL string
	Model   string
	APIKey  string
	// MaxSteps bounds the model's rounds of tool calls (default 8).
	MaxSteps int
	// ResultTokens is the budget of each tool result sent back to the model, in tokens (~4 characters each; default 600).
	ResultTokens int
	// Timeout bounds each HTTP request (default 60 s).
	Timeout time.Duration
	Client  *http.Client
}

// LLM is the language-model planner: the model chooses the platform's operations as tool calls by
// name with JSON arguments; each call is validated (and repaired or refused) before it runs through
// the same tools as the built-in planner, with the same debate checks; the model writes the prose.
type LLM struct {
	cfg LLMConfig
}

// NewLLM returns the LLM planner, or an error naming the missing setting.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("llm base URL is empty")
	}
	if cfg.Model == "" {
		return nil, errors.New("llm model is empty")
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = 8
	}
	if cfg.ResultTokens <= 0 {
		cfg.ResultTokens = 600
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &LLM{cfg: cfg}, nil
}

// The wire types of the chat-completions protocol (the subset used).
type chatMessage struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
}

type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type toolDef struct {
	Type     string  `json:"type"`
	Function toolFun `json:"function"`
}

type toolFun struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

type chatRequest struct {
	Model      string        `json:"model"`
	Messages   []chatMessage `json:"messages"`
	Tools      []toolDef     `json:"tools,omitempty"`
	ToolChoice string        `json:"tool_choice,omitempty"`
}

type chatResponse struct {
	Choices []struct {
		Message      chatMessage `json:"message"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// toolSpec is one operation offered to the model: its required and optional arguments.
type toolSpec struct {
	name, desc string
	required   []string
	optional   []string
	// columns are the arguments that must name columns of the dataset.
	columns []string
	// lists are the arguments that take a list of strings (a JSON array, or a comma-separated string).
	lists []string
}

func init() { llmTools = append(llmTools, idTools...) }

var llmTools = []toolSpec{
	{name: "describe", desc: "Summarise the dataset, or one column (mean, median, sd, range; or its counts).", optional: []string{"column", "agg"}, columns: []string{"column"}},
	{name: "data_quality", desc: "Missing values per column and duplicate rows."},
	{name: "compare_groups", desc: "A measure (mean, median, sum or rate of a column) across the groups of another column, with a test and the debate checks.", required: []string{"group"}, optional: []string{"measure", "agg"}, columns: []string{"group", "measure"}},
	{name: "relationship", desc: "Correlation (or association) of two columns with its interval and checks.", required: []string{"x", "y"}, columns: []string{"x", "y"}},
	{name: "trend", desc: "A measure over a time column: slope, Mann-Kendall test, seasonality checks.", required: []string{"time", "measure"}, optional: []string{"agg"}, columns: []string{"time", "measure"}},
	{name: "drivers", desc: "What drives a target: hypotheses tested with false-discovery control, a model's permutation importances, entanglement checks.", required: []string{"target"}, columns: []string{"target"}},
	{name: "predict", desc: "Train and cross-validate models for a target.", required: []string{"target"}, columns: []string{"target"}},
	{name: "estimate_effect", desc: "Average causal effect of a treatment column on an outcome column, adjusted for confounders.", required: []string{"treatment", "outcome"}, columns: []string{"treatment", "outcome"}},
	{name: "segments", desc: "The groups of rows that differ most in a measure.", optional: []string{"measure"}, columns: []string{"measure"}},
	{name: "anomalies", desc: "Outlying values of a numeric column.", optional: []string{"column"}, columns: []string{"column"}},
	{name: "run_sql", desc: "Run one read-only DuckDB SELECT over the dataset, visible as table data. Use for anything the other tools do not cover.", required: []string{"sql"}},
	{name: "run_python", desc: "Run Python analysis code in the sandbox (no network; pandas, numpy, scipy, statsmodels, sklearn). Load the dataset with `import vds; df = vds.load(\"data\")` and print the results.", required: []string{"code"}},
}

func (t toolSpec) def() toolDef {
	props := map[string]any{}
	for _, a := range append(append([]string{}, t.required...), t.optional...) {
		p := map[string]any{"type": "string"}
		if contains(t.lists, a) {
			p = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		}
		if a == "agg" {
			p["enum"] = []string{"mean", "median", "sum", "rate", "count", "min", "max", "std"}
		}
		props[a] = p
	}
	req := t.required
	if req == nil {
		req = []string{}
	}
	return toolDef{Type: "function", Function: toolFun{Name: t.name, Description: t.desc,
		Parameters: map[string]any{"type": "object", "properties": props, "required": req, "additionalProperties": false}}}
}

func findTool(name string) *toolSpec {
	for i := range llmTools {
		if llmTools[i].name == name {
			return &llmTools[i]
		}
	}
	return nil
}

// Answer lets the model plan through tool calls. Every number still comes from a tool; the answer's
// values are the tools' values, never the model's.
func (l *LLM) Answer(ctx context.Context, tools Tools, s *Schema, question string, o Options, emit func(*orchestratorv1.Event)) (*Result, error) {
	if emit == nil {
		emit = func(*orchestratorv1.Event) {}
	}
	send := func(ev *orchestratorv1.Event) { ev.Time = timestamppb.Now(); emit(ev) }
	var defs []toolDef
	for _, t := range llmTools {
		defs = append(defs, t.def())
	}
	msgs := []chatMessage{{Role: "system", Content: systemPrompt(s)}}
	// The conversation so far: earlier questions, answers and the IDs they made, so that "explain
	// that model" can name it. At most the last 6 exchanges, each within the result budget.
	hist := o.History
	if len(hist) > 6 {
		hist = hist[len(hist)-6:]
	}
	for _, h := range hist {
		a := h.Answer
		if len(h.Artifacts) > 0 {
			a += "\n(Artifacts: " + strings.Join(h.Artifacts, ", ") + ")"
		}
		msgs = append(msgs, chatMessage{Role: "user", Content: truncateStr(h.Question, 2000)}, chatMessage{Role: "assistant", Content: l.budget(a)})
	}
	msgs = append(msgs, chatMessage{Role: "user", Content: question})
	send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: fmt.Sprintf("Intent llm. Plan: the language model %s chooses the platform's tools; every call is validated before it runs.", l.cfg.Model)}})
	final := &Result{Intent: Intent{Kind: "llm"}, Answer: &orchestratorv1.Answer{Values: map[string]float64{}}}
	step := 0
	ran := false
	// sources are the question and every tool result: the numbers the answer may state.
	sources := []string{question}
	for round := 0; round < l.cfg.MaxSteps; round++ {
		resp, err := l.complete(ctx, chatRequest{Model: l.cfg.Model, Messages: msgs, Tools: defs, ToolChoice: "auto"})
		if err != nil {
			return final, err
		}
		m := resp.Choices[0].Message
		if len(m.ToolCalls) == 0 {
			final.Answer.Text = strings.TrimSpace(m.Content)
			if final.Answer.Text == "" {
				final.Answer.Text = "The model gave no answer."
			}
			switch {
			case final.Answer.Confidence != "":
			case ran:
				// Only raw SQL or Python ran: no debate checked it.
				final.Answer.Confidence = "medium"
			default:
				final.Answer.Confidence = "low"
				final.Answer.Text += " (No tool was run, so no number here comes from the data.)"
			}
			if bad := unbackedNumbers(final.Answer.Text, sources); ran && len(bad) > 0 {
				// The model stated numbers no tool produced: they are marked and the confidence drops.
				final.Answer.Text += fmt.Sprintf(" (Not from any tool result: %s.)", strings.Join(bad, ", "))
				final.Answer.Confidence = "low"
			}
			l.debate(ctx, question, final, send)
			send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Answer{Answer: final.Answer}})
			return final, nil
		}
		msgs = append(msgs, chatMessage{Role: "assistant", Content: m.Content, ToolCalls: m.ToolCalls})
		for _, tc := range m.ToolCalls {
			step++
			st := &orchestratorv1.PlanStep{Id: fmt.Sprintf("s%d", step), Tool: tc.Function.Name, Description: "model's call of " + tc.Function.Name}
			send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_StepStarted{StepStarted: st}})
			args, in, verr := validate(s, tc.Function.Name, tc.Function.Arguments)
			if verr == nil {
				verr = validateIDTool(tc.Function.Name, args)
			}
			var content string
			if verr != nil {
				// Refused: never executed; the model is told why and may retry.
				content = "refused: " + verr.Error()
				send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: &orchestratorv1.ToolCall{StepId: st.Id, Tool: tc.Function.Name,
					Arguments: map[string]string{"raw": truncateStr(tc.Function.Arguments, 500)}, Error: content}}})
			} else {
				if in == nil && findTool(tc.Function.Name).isID() {
					content = l.executeID(ctx, tc.Function.Name, tools, s, o, st, args, final, send)
				} else {
					content = l.execute(ctx, tools, s, o, st, args, in, final, send)
				}
				ran = ran || !strings.HasPrefix(content, "error: ")
				sources = append(sources, content)
			}
			send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_StepFinished{StepFinished: st}})
			msgs = append(msgs, chatMessage{Role: "tool", ToolCallID: tc.ID, Name: tc.Function.Name, Content: l.budget(content)})
		}
	}
	final.Answer.Text = fmt.Sprintf("The model did not finish within %d rounds of tool calls.", l.cfg.MaxSteps)
	final.Answer.Confidence = "none"
	for _, d := range final.Debate {
		send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Debate{Debate: d}})
	}
	send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Answer{Answer: final.Answer}})
	return final, nil
}

// execute runs one validated call and returns the summary the model sees.
func (l *LLM) execute(ctx context.Context, tools Tools, s *Schema, o Options, st *orchestratorv1.PlanStep, args map[string]string, in *Intent, final *Result, send func(*orchestratorv1.Event)) string {
	if args["code"] != "" { // run_python
		out, err := tools.Python(ctx, args["code"])
		tc := &orchestratorv1.ToolCall{StepId: st.Id, Tool: "run_python", Arguments: map[string]string{"dataset_id": s.DatasetID, "code": args["code"]}, ResultSummary: truncateStr(out, 400)}
		if err != nil {
			tc.Error = err.Error()
		}
		send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_ToolCall{ToolCall: tc}})
		if err != nil {
			return "error: " + err.Error()
		}
		return "stdout:\n" + out
	}
	if in == nil { // run_sql
		r := &run{ctx: ctx, tools: tools, s: s, emit: func(ev *orchestratorv1.Event) { send(ev) }, res: &Result{}, values: map[string]float64{}, filter: o.Filter, step: st, turns: map[string]*orchestratorv1.DebateTurn{}}
		t, err := r.sql("model's query", args["sql"])
		if err != nil {
			return "error: " + err.Error()
		}
		return summarize(t, l.cfg.ResultTokens*4)
	}
	res, err := AnswerIntent(ctx, tools, s, *in, o, func(ev *orchestratorv1.Event) {
		// The inner plan's own answer is a tool result here, not the final answer.
		if a := ev.GetAnswer(); a != nil {
			return
		}
		// The debate turns are held until the model has answered: it may write their prose (l.debate).
		if ev.GetDebate() != nil {
			return
		}
		if ev.GetPlanSummary() != "" {
			ev.Plan = nil
		}
		send(ev)
	})
	if err != nil {
		return "error: " + err.Error()
	}
	final.Findings = append(final.Findings, res.Findings...)
	final.Charts = append(final.Charts, res.Charts...)
	final.Debate = append(final.Debate, res.Debate...)
	for k, v := range res.Answer.Values {
		final.Answer.Values[k] = v
	}
	final.Answer.Confidence = res.Answer.Confidence
	var b strings.Builder
	b.WriteString(res.Answer.Text)
	if len(res.Answer.Values) > 0 {
		b.WriteString("\nValues:")
		for _, k := range sortedKeys(res.Answer.Values) {
			fmt.Fprintf(&b, " %s=%s;", k, trimFloat(res.Answer.Values[k]))
		}
	}
	for _, d := range res.Debate {
		fmt.Fprintf(&b, "\n%s: %s", d.Role, d.Claim)
	}
	return b.String()
}

// budget cuts a tool result to the token budget, saying so.
func (l *LLM) budget(s string) string {
	max := l.cfg.ResultTokens * 4
	if len(s) <= max {
		return s
	}
	return s[:runeCut(s, max)] + fmt.Sprintf("\n[truncated: %d of %d characters shown]", max, len(s))
}

func truncateStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeCut(s, n)] + "…"
}

// runeCut is the largest index <= n that does not split a UTF-8 sequence of s.
func runeCut(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

func systemPrompt(s *Schema) string {
	var cols []string
	for _, c := range s.Columns {
		d := c.Name + " (" + c.Type
		if len(c.Values) > 0 && len(c.Values) <= 12 && !c.IsNumeric() {
			d += ": " + strings.Join(c.Values, ", ")
		}
		cols = append(cols, d+")")
	}
	return fmt.Sprintf(`You are the planner of a data-science platform. Answer the user's question about dataset %s (%d rows) by calling tools; the tools run on the real data and take IDs (the dataset is implied).
Never state a number that did not come from a tool result. Columns: %s.
When you have the numbers, reply with a short answer in prose, including the caveats the debate raised.`, datasetLabel(s), s.Rows, strings.Join(cols, "; "))
}

func (l *LLM) complete(ctx context.Context, req chatRequest) (*chatResponse, error) {
	body, _ := json.Marshal(req)
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/json")
		if l.cfg.APIKey != "" {
			hr.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
		}
		res, err := l.cfg.Client.Do(hr)
		if err != nil {
			last = fmt.Errorf("llm endpoint: %w", err)
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
			last = fmt.Errorf("llm endpoint answered %s: %s", res.Status, truncateStr(string(b), 200))
			if attempt == 0 {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("llm endpoint answered %s: %s", res.Status, truncateStr(string(b), 200))
		}
		out := &chatResponse{}
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("llm endpoint sent malformed JSON: %w", err)
		}
		if out.Error != nil {
			return nil, fmt.Errorf("llm endpoint: %s", out.Error.Message)
		}
		if len(out.Choices) == 0 {
			return nil, errors.New("llm endpoint returned no choices")
		}
		return out, nil
	}
	return nil, last
}

var (
	fenceRE         = regexp.MustCompile("(?s)^\\s*```(?:json)?\\s*(.*?)\\s*```\\s*$")
	trailingCommaRE = regexp.MustCompile(`,\s*([}\]])`)
	singleQuoteRE   = regexp.MustCompile(`'([^'"]*)'`)
	bareKeyRE       = regexp.MustCompile(`([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:`)
)

// repairJSON tries the usual ways models break JSON: code fences, single quotes, bare keys, trailing
// commas, a missing closing brace. It returns the repaired text and whether it parses.
func repairJSON(raw string) (map[string]any, bool, error) {
	var m map[string]any
	if strings.TrimSpace(raw) == "" {
		return map[string]any{}, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &m); err == nil {
		return m, false, nil
	}
	s := strings.TrimSpace(raw)
	if f := fenceRE.FindStringSubmatch(s); f != nil {
		s = f[1]
	}
	s = singleQuoteRE.ReplaceAllString(s, `"$1"`)
	s = bareKeyRE.ReplaceAllString(s, `$1"$2":`)
	s = trailingCommaRE.ReplaceAllString(s, "$1")
	if open := strings.Count(s, "{") - strings.Count(s, "}"); open > 0 && open < 3 {
		s += strings.Repeat("}", open)
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, false, fmt.Errorf("arguments are not valid JSON and could not be repaired: %v", err)
	}
	return m, true, nil
}

// validate checks a tool call before anything runs: a known tool, JSON arguments (repaired when
// possible), only known argument names with string values, required ones present, columns that exist
// (resolved loosely), and read-only SQL.
func validate(s *Schema, name, raw string) (map[string]string, *Intent, error) {
	spec := findTool(name)
	if spec == nil {
		var names []string
		for _, t := range llmTools {
			names = append(names, t.name)
		}
		return nil, nil, fmt.Errorf("unknown tool %q; the tools are %s", name, strings.Join(names, ", "))
	}
	m, _, err := repairJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	args := map[string]string{}
	allowed := append(append([]string{}, spec.required...), spec.optional...)
	for k, v := range m {
		if !contains(allowed, k) {
			return nil, nil, fmt.Errorf("tool %s has no argument %q (it takes %s)", name, k, strings.Join(allowed, ", "))
		}
		switch x := v.(type) {
		case string:
			if contains(spec.lists, k) {
				var items []string
				for _, it := range strings.Split(x, ",") {
					if it = strings.TrimSpace(it); it != "" {
						items = append(items, it)
					}
				}
				x = strings.Join(items, "\n")
			}
			args[k] = x
		case []any:
			if !contains(spec.lists, k) {
				return nil, nil, fmt.Errorf("argument %q must be a string", k)
			}
			var items []string
			for _, it := range x {
				str, ok := it.(string)
				if !ok || strings.TrimSpace(str) == "" || strings.Contains(str, "\n") {
					return nil, nil, fmt.Errorf("argument %q must be a list of names", k)
				}
				items = append(items, strings.TrimSpace(str))
			}
			if len(items) > 50 {
				return nil, nil, fmt.Errorf("argument %q takes at most 50 names", k)
			}
			args[k] = strings.Join(items, "\n")
		case float64, bool:
			args[k] = fmt.Sprint(x)
		default:
			return nil, nil, fmt.Errorf("argument %q must be a string", k)
		}
	}
	for _, k := range spec.required {
		if strings.TrimSpace(args[k]) == "" {
			return nil, nil, fmt.Errorf("tool %s needs argument %q", name, k)
		}
	}
	for _, k := range spec.columns {
		v, ok := args[k]
		if !ok || v == "" {
			continue
		}
		items := []string{v}
		if contains(spec.lists, k) {
			items = strings.Split(v, "\n")
		}
		for i, it := range items {
			if s.Col(it) != nil {
				continue
			}
			r := Resolve(s, it)
			if len(r.Columns) == 1 && len(r.Ambiguous) == 0 {
				items[i] = r.Columns[0]
				continue
			}
			return nil, nil, fmt.Errorf("argument %s = %q is not a column; the columns are %s", k, it, strings.Join(names(s, 40), ", "))
		}
		args[k] = strings.Join(items, "\n")
	}
	if a := args["agg"]; a != "" && !contains([]string{"mean", "median", "sum", "rate", "count", "min", "max", "std"}, a) {
		return nil, nil, fmt.Errorf("agg %q must be one of mean, median, sum, rate, count, min, max, std", a)
	}
	if name == "run_python" {
		if len(args["code"]) > 20000 {
			return nil, nil, errors.New("run_python code must be at most 20000 characters")
		}
		return args, nil, nil
	}
	if name == "run_sql" {
		if err := readOnlySQL("run_sql", args["sql"]); err != nil {
			return nil, nil, err
		}
		return args, nil, nil
	}
	if spec.isID() {
		return args, nil, nil
	}
	in := &Intent{}
	switch name {
	case "describe":
		in.Kind, in.Measure, in.Agg = Describe, args["column"], orDefault(args["agg"], "mean")
		if c := s.Col(in.Measure); c != nil && !c.IsNumeric() && args["agg"] == "" {
			in.Agg = "rate"
			if !binary(c) && c.Type != "boolean" {
				in.Agg = "count"
			}
		}
	case "data_quality":
		in.Kind = Quality
	case "compare_groups":
		in.Kind, in.Group, in.Measure, in.Agg = Compare, args["group"], args["measure"], args["agg"]
		if in.Agg == "" {
			in.Agg = "mean"
			if c := s.Col(in.Measure); c != nil && !c.IsNumeric() {
				in.Agg = "rate"
			}
			if in.Measure == "" {
				in.Agg = "count"
			}
		}
	case "relationship":
		in.Kind, in.Group, in.Measure = Relationship, args["x"], args["y"]
	case "trend":
		in.Kind, in.Time, in.Measure, in.Agg = Trend, args["time"], args["measure"], orDefault(args["agg"], "mean")
	case "drivers":
		in.Kind, in.Measure = Drivers, args["target"]
	case "predict":
		in.Kind, in.Measure = Predict, args["target"]
	case "estimate_effect":
		in.Kind, in.Group, in.Measure = Effect, args["treatment"], args["outcome"]
	case "segments":
		in.Kind, in.Measure = Segments, args["measure"]
	case "anomalies":
		in.Kind, in.Measure = Anomalies, args["column"]
	}
	return args, in, nil
}

// isID says whether the tool is one of the ID tools (run by executeID, not a built-in plan).
func (t *toolSpec) isID() bool {
	for _, x := range idTools {
		if x.name == t.name {
			return true
		}
	}
	return false
}

// datasetLabel names the dataset for prose: its name and ID.
func datasetLabel(s *Schema) string {
	if s.Name == "" {
		return s.DatasetID
	}
	return fmt.Sprintf("%q (%s)", s.Name, s.DatasetID)
}
