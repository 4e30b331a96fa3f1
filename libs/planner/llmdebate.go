package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// debate lets the model write the prose of the debate turns from the checks that ran (the checks
// themselves are never the model's), then emits the turns. A turn keeps the checks' own prose
// when the model's contains a number that no check produced, or when the model fails.
func (l *LLM) debate(ctx context.Context, question string, final *Result, send func(*orchestratorv1.Event)) {
	if len(final.Debate) == 0 {
		return
	}
	defer func() {
		for _, d := range final.Debate {
			send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_Debate{Debate: d}})
		}
	}()
	type turnIn struct {
		Index    int      `json:"index"`
		Role     string   `json:"role"`
		Claim    string   `json:"claim"`
		Evidence []string `json:"evidence"`
	}
	var in []turnIn
	for i, d := range final.Debate {
		in = append(in, turnIn{Index: i, Role: d.Role, Claim: d.Claim, Evidence: d.Evidence})
	}
	b, _ := json.Marshal(in)
	prompt := `Rewrite the claim of each debate turn below as one to three clear sentences for the user, in the voice of its role (statistician: significance, effect sizes, intervals; skeptic: seasonality, outliers, confounders, multiple testing; engineer: missingness, duplicates, sample size, leakage; synthesis: the answer, the confidence, what would change it).
Use only the numbers that appear in that turn's claim or evidence; add no new facts. Reply with only a JSON array of {"index": N, "claim": "..."}.
Turns: ` + string(b)
	// The instructions and the turns are the system message; the user's question comes last.
	resp, err := l.complete(ctx, chatRequest{Model: l.cfg.Model, Messages: []chatMessage{
		{Role: "system", Content: "You write the prose of a data analysis' debate from checks that were run. Never invent numbers.\n" + prompt},
		{Role: "user", Content: question}}})
	if err != nil {
		send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: "The debate keeps the checks' own prose: the language model failed (" + err.Error() + ")."}})
		return
	}
	text := strings.TrimSpace(resp.Choices[0].Message.Content)
	if f := fenceRE.FindStringSubmatch(text); f != nil {
		text = f[1]
	}
	var out []struct {
		Index int    `json:"index"`
		Claim string `json:"claim"`
	}
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: "The debate keeps the checks' own prose: the language model's reply was not the JSON asked for."}})
		return
	}
	for _, o := range out {
		if o.Index < 0 || o.Index >= len(final.Debate) || strings.TrimSpace(o.Claim) == "" || len(o.Claim) > 2000 {
			continue
		}
		d := final.Debate[o.Index]
		if bad := unbackedNumbers(o.Claim, append([]string{d.Claim}, d.Evidence...)); len(bad) > 0 {
			send(&orchestratorv1.Event{Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: fmt.Sprintf(
				"The %s keeps the checks' own prose: the model's version states %s, which no check produced.", d.Role, strings.Join(bad, ", "))}})
			continue
		}
		d.Claim = strings.TrimSpace(o.Claim)
	}
}

// numberRE finds numbers in prose: 0.4271, -3, 1,234.5, 42.7%, 1e-10.
var numberRE = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?%?`)

// numbers returns the numbers of a text; a minus right after a letter or digit is a hyphen or a
// range ("0.3-0.5", "p-value"), not a sign. Digits inside words (column names such as re78,
// IDs) are not numbers.
func numbers(text string) []string {
	var out []string
	for _, ix := range numberRE.FindAllStringIndex(text, -1) {
		m := text[ix[0]:ix[1]]
		if ix[0] > 0 {
			prev := text[ix[0]-1]
			if prev == '_' || prev >= 'a' && prev <= 'z' || prev >= 'A' && prev <= 'Z' {
				if m[0] != '-' {
					continue
				}
			}
			if m[0] == '-' && (prev >= '0' && prev <= '9' || prev >= 'a' && prev <= 'z' || prev >= 'A' && prev <= 'Z' || prev == '_') {
				m = m[1:]
			}
		}
		m = strings.TrimRight(m, ",")
		out = append(out, m)
	}
	return out
}

// unbackedNumbers returns the numbers of prose that none of the sources contains, allowing for
// rounding (a source's 0.42709 backs 0.43, 0.427 and 42.7%) and for the small integers of ordinary
// speech (0 to 10).
func unbackedNumbers(prose string, sources []string) []string {
	var have []float64
	for _, src := range sources {
		for _, m := range numbers(src) {
			if v, _, ok := parseNum(m); ok {
				have = append(have, v)
				if strings.HasSuffix(m, "%") {
					have = append(have, v/100)
				} else {
					have = append(have, v*100)
				}
			}
		}
	}
	var bad []string
	for _, m := range numbers(prose) {
		v, dec, ok := parseNum(m)
		if !ok {
			continue
		}
		if v == math.Trunc(v) && v >= 0 && v <= 10 && dec == 0 {
			continue
		}
		backed := false
		for _, h := range have {
			if roundsTo(h, v, dec) {
				backed = true
				break
			}
		}
		if !backed {
			bad = append(bad, m)
		}
	}
	return bad
}

// parseNum reads a number as written (percent sign dropped) and how many decimals it shows.
func parseNum(m string) (v float64, dec int, ok bool) {
	s := strings.TrimSuffix(strings.ReplaceAll(m, ",", ""), "%")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && !strings.ContainsAny(s, "eE") {
		dec = len(s) - i - 1
	}
	return v, dec, true
}

// roundsTo says whether h, rounded to dec decimals (or significant figures for large numbers), is v.
func roundsTo(h, v float64, dec int) bool {
	if h == v {
		return true
	}
	tol := 0.5*math.Pow(10, -float64(dec)) + 1e-9*math.Abs(v)
	return math.Abs(h-v) <= tol
}
