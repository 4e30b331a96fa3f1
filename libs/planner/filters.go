package planner

import (
	"regexp"
	"strings"
)

// Filter is a condition on the rows that a question names: a value of a column ("on Sunday":
// day = Sun) or a comparison of a numeric column with a number ("a tip above 5": tip > 5).
type Filter struct {
	Col, Op, Value string
	Numeric        bool
}

func (f Filter) String() string { return f.Col + f.Op + f.Value }

// SQL is the condition in DuckDB SQL over the table data.
func (f Filter) SQL() string {
	if f.Numeric {
		return q(f.Col) + " " + f.Op + " " + f.Value
	}
	return "CAST(" + q(f.Col) + " AS VARCHAR) = " + lit(f.Value)
}

// Words renders the condition for an answer ("day = Sun", "tip > 5").
func (f Filter) Words() string { return f.Col + " " + f.Op + " " + f.Value }

// filterWords renders conditions for an answer: "day = Sun and tip > 5".
func filterWords(fs []Filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Words()
	}
	return strings.Join(parts, " and ")
}

// filtersSQL joins the filters' conditions with AND ("" for none).
func filtersSQL(fs []Filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.SQL()
	}
	return strings.Join(parts, " AND ")
}

// valueAliases are the words a question uses for a column value that it does not spell out: day
// abbreviations and the usual words for the sexes. A value matches its own spelling (or plural)
// first; an alias is used only when no column has the word as a value.
var valueAliases = map[string][]string{
	"mon": {"monday", "mondays"}, "tue": {"tuesday", "tuesdays"}, "tues": {"tuesday", "tuesdays"},
	"wed": {"wednesday", "wednesdays"}, "thu": {"thursday", "thursdays"}, "thur": {"thursday", "thursdays"},
	"thurs": {"thursday", "thursdays"}, "fri": {"friday", "fridays"}, "sat": {"saturday", "saturdays"},
	"sun":    {"sunday", "sundays"},
	"female": {"women", "woman", "females", "girls", "ladies"}, "male": {"men", "man", "males", "boys"},
	"f": {"women", "woman", "females"}, "m": {"men", "man", "males"},
}

// genericValues are values too common as words to name a row condition ("yes", "no", "other").
var genericValues = map[string]bool{"yes": true, "no": true, "true": true, "false": true, "y": true, "n": true, "t": true,
	"0": true, "1": true, "other": true, "none": true, "unknown": true, "na": true, "nan": true, "all": true}

// valueMentions finds the values of low-cardinality columns the question names, by column, in
// question order. Each question word names at most one value (its own spelling before an alias).
func valueMentions(s *Schema, question string) map[string][]string {
	qw := words(question)
	out := map[string][]string{}
	taken := map[int]bool{}
	add := func(col, v string, at int) {
		if taken[at] {
			return
		}
		for _, x := range out[col] {
			if x == v {
				taken[at] = true
				return
			}
		}
		taken[at] = true
		out[col] = append(out[col], v)
	}
	for pass := 0; pass < 2; pass++ { // 0: the value's own words, 1: aliases
		for _, c := range s.Columns {
			if !c.IsGroup() {
				continue
			}
			for _, v := range c.Values {
				lv := strings.ToLower(strings.TrimSpace(v))
				if lv == "" || genericValues[lv] {
					continue
				}
				if pass == 0 {
					vw := words(v)
					if len(vw) == 0 || (len(vw) == 1 && len(vw[0]) < 3) {
						continue
					}
					for i := 0; i+len(vw) <= len(qw); i++ {
						ok := true
						for j := range vw {
							if qw[i+j] != vw[j] && qw[i+j] != vw[j]+"s" {
								ok = false
								break
							}
						}
						if ok && !isColumnWord(s, qw[i]) {
							add(c.Name, v, i)
						}
					}
					continue
				}
				for _, a := range valueAliases[lv] {
					for i, w := range qw {
						if w == a {
							add(c.Name, v, i)
						}
					}
				}
			}
		}
	}
	return out
}

// isColumnWord reports whether w is a column's whole name (then it names the column, not a value).
func isColumnWord(s *Schema, w string) bool {
	for _, c := range s.Columns {
		if strings.Join(words(c.Name), "") == w {
			return true
		}
	}
	return false
}

// comparisonRE finds "<words> above 5", "<words> of at least 2.5", "<words> > 3".
var comparisonRE = regexp.MustCompile(`((?:[a-z0-9_]+\s+){1,4}?)(?:is\s+|was\s+|are\s+|were\s+|of\s+)?(above|over|greater than|more than|higher than|larger than|bigger than|exceeding|at least|below|under|less than|lower than|smaller than|at most|>=|<=|>|<)\s*\$?(-?\d+(?:\.\d+)?)\b`)

var comparisonOps = map[string]string{
	"above": ">", "over": ">", "greater than": ">", "more than": ">", "higher than": ">", "larger than": ">", "bigger than": ">",
	"exceeding": ">", ">": ">", "at least": ">=", ">=": ">=",
	"below": "<", "under": "<", "less than": "<", "lower than": "<", "smaller than": "<", "<": "<", "at most": "<=", "<=": "<=",
}

// comparisons finds the numeric conditions of a question. unresolved lists the ones whose column
// the words before them do not name ("more than 2" after "parties had").
func comparisons(s *Schema, question string) (fs []Filter, unresolved []string) {
	lq := strings.ToLower(question)
	for _, m := range comparisonRE.FindAllStringSubmatch(lq, -1) {
		col := ""
		for _, c := range Resolve(s, m[1]).Columns {
			if s.Col(c).IsNumeric() {
				col = c // the last numeric column before the comparison
			}
		}
		if col == "" {
			unresolved = append(unresolved, strings.TrimSpace(m[2]+" "+m[3]))
			continue
		}
		fs = append(fs, Filter{Col: col, Op: comparisonOps[m[2]], Value: m[3], Numeric: true})
	}
	return fs, unresolved
}
