package planner

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Filter is a condition on the rows that a question names: a value of a column ("on Sunday":
// day = Sun) or a comparison of a numeric column with a number ("a tip above 5": tip > 5).
//
// Op is one of = != > >= < <= for one value, in / not in for Values (two or more values of a
// column: "on Saturday or Sunday"). Bool marks a boolean column's condition (Value true or false;
// Label is how its file spelled that value, "Yes").
type Filter struct {
	Col, Op, Value string
	Values         []string
	Numeric, Bool  bool
	Label          string
	// YearOf compares the year of a date column ("in 1929" on a Date column).
	YearOf bool
}

func (f Filter) String() string {
	if len(f.Values) > 1 {
		return f.Col + " " + f.Op + " " + strings.Join(f.Values, ",")
	}
	return f.Col + f.Op + f.Value
}

// SQL is the condition in DuckDB SQL over the table data.
func (f Filter) SQL() string {
	switch {
	case f.YearOf:
		return "year(" + q(f.Col) + ") " + f.Op + " " + f.Value
	case f.Numeric:
		return q(f.Col) + " " + f.Op + " " + f.Value
	case f.Bool:
		return q(f.Col) + " = " + f.Value
	case f.Op == "in" || f.Op == "not in":
		vs := make([]string, len(f.Values))
		for i, v := range f.Values {
			vs[i] = lit(v)
		}
		in := "CAST(" + q(f.Col) + " AS VARCHAR) IN (" + strings.Join(vs, ", ") + ")"
		if f.Op == "not in" {
			return "NOT " + in
		}
		return in
	}
	op := "="
	if f.Op == "!=" {
		op = "<>"
	}
	return "CAST(" + q(f.Col) + " AS VARCHAR) " + op + " " + lit(f.Value)
}

// Words renders the condition for an answer ("day = Sun", "tip > 5", "day = Sat or Sun",
// "smoker = Yes").
func (f Filter) Words() string {
	switch {
	case f.Op == "in":
		return f.Col + " = " + strings.Join(f.Values, " or ")
	case f.Op == "not in":
		return f.Col + " is neither " + strings.Join(f.Values, " nor ")
	case f.Label != "":
		return f.Col + " " + f.Op + " " + f.Label
	case f.YearOf:
		return "the year of " + f.Col + " " + f.Op + " " + f.Value
	}
	return f.Col + " " + f.Op + " " + f.Value
}

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
	"japan": {"japanese"}, "usa": {"american", "americans"}, "europe": {"european", "europeans"},
	"germany": {"german"}, "france": {"french"}, "canada": {"canadian"},
}

// genericValues are values too common as words to name a row condition ("yes", "no", "other").
var genericValues = map[string]bool{"yes": true, "no": true, "true": true, "false": true, "y": true, "n": true, "t": true,
	"0": true, "1": true, "other": true, "none": true, "unknown": true, "na": true, "nan": true, "all": true}

// mention is a value of a column named in a question and the position of its first word.
type mention struct {
	value string
	at    int
}

// valueMentions finds the values of low-cardinality columns the question names, by column, in
// question order. Each question word names at most one value (its own spelling before an alias).
func valueMentions(s *Schema, question string) map[string][]mention {
	qw := words(question)
	out := map[string][]mention{}
	taken := map[int]bool{}
	add := func(col, v string, at int) {
		if taken[at] {
			return
		}
		for _, x := range out[col] {
			if x.value == v {
				taken[at] = true
				return
			}
		}
		taken[at] = true
		out[col] = append(out[col], mention{v, at})
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
					if len(vw) == 0 {
						continue
					}
					// A value of one or two letters (diamonds' colour D, clarity IF) counts only
					// right after its column's name ("color D"): alone it is too common a word.
					short := len(vw) == 1 && len(vw[0]) < 3
					for i := 0; i+len(vw) <= len(qw); i++ {
						ok := true
						for j := range vw {
							if qw[i+j] != vw[j] && qw[i+j] != vw[j]+"s" {
								ok = false
								break
							}
						}
						if short && (i == 0 || !namesColumn(&c, qw[i-1])) {
							ok = false
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

// namesColumn reports whether the word w is the column's name (any case, a plural, a synonym).
func namesColumn(c *Column, w string) bool {
	return match(c.Name, []string{w}) >= 0.99
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

// comparisonRE finds "<words> above 5", "<words> of at least 2.5", "<words> > 3", "<words> = 1".
var comparisonRE = regexp.MustCompile(`((?:[a-z0-9_]+\s+){1,4}?)(?:is\s+|was\s+|are\s+|were\s+|of\s+)?(above|over|greater than|more than|higher than|larger than|bigger than|exceeding|at least|below|under|less than|lower than|smaller than|at most|older than|younger than|after|before|since|equal to|equals|is|of|>=|<=|==|=|>|<)\s*\$?(-?\d+(?:\.\d+)?)\b`)

var comparisonOps = map[string]string{
	"above": ">", "over": ">", "greater than": ">", "more than": ">", "higher than": ">", "larger than": ">", "bigger than": ">",
	"exceeding": ">", ">": ">", "at least": ">=", ">=": ">=",
	"below": "<", "under": "<", "less than": "<", "lower than": "<", "smaller than": "<", "fewer than": "<", "<": "<", "at most": "<=", "<=": "<=",
	"=": "=", "==": "=", "is": "=", "of": "=", "equals": "=", "equal to": "=",
	"older than": ">", "younger than": "<", "after": ">", "before": "<", "since": ">=",
}

// orMoreRE finds "<words> 30 or older", "<words> 4 or more", "<words> 2 or fewer" (ends included).
var orMoreRE = regexp.MustCompile(`((?:[a-z0-9_]+\s+){1,4}?)(\d+(?:\.\d+)?)\s+or\s+(more|older|over|above|higher|greater|larger|less|younger|under|below|lower|fewer|smaller)\b`)

// opColNumRE finds "under age 18": a comparison, a column's name, then the number.
var opColNumRE = regexp.MustCompile(`\b(above|over|under|below|less than|more than|greater than|at least|at most)\s+(?:the\s+|an?\s+)?([a-z_]+)\s+(?:of\s+)?(-?\d+(?:\.\d+)?)\b`)

// opNumColRE finds "more than 4 cylinders": a comparison, a number, then a column's name.
var opNumColRE = regexp.MustCompile(`\b(above|over|under|below|less than|fewer than|more than|greater than|at least|at most)\s+(-?\d+(?:\.\d+)?)\s+([a-z][a-z0-9_]*)`)

// countNounRE finds a number before a column's name: "8-cylinder cars", "with 4 cylinders",
// "zero passengers" (the column is the word after the number).
var countNounRE = regexp.MustCompile(`\b(\d+)[ -]([a-z][a-z0-9_]*)`)

// yearValue is a year as a year column holds it: mpg's model_year holds 70-82, so 1975 is 75.
func yearValue(c *Column, year string) string {
	y, err := strconv.Atoi(year)
	if err != nil || y < 1900 || len(c.Values) == 0 {
		return year
	}
	for _, v := range c.Values {
		if n, err := strconv.ParseFloat(v, 64); err != nil || n >= 100 {
			return year
		}
	}
	return strconv.Itoa(y - 1900)
}

// isYear reports whether a number in a question looks like a calendar year.
func isYear(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 1800 && n <= 2100
}

// yearColumn is the numeric column whose name says it holds years (Year, model_year), or "".
func yearColumn(s *Schema) string {
	for _, c := range s.Columns {
		if c.IsNumeric() && (contains(words(c.Name), "year") || contains(words(c.Name), "yr")) {
			return c.Name
		}
	}
	return ""
}

// betweenRE finds "<words> between 10 and 20" (both ends included).
var betweenRE = regexp.MustCompile(`((?:[a-z0-9_]+\s+){1,4}?)(?:is\s+|was\s+|are\s+|were\s+)?between\s+\$?(-?\d+(?:\.\d+)?)\s+and\s+\$?(-?\d+(?:\.\d+)?)\b`)

// comparisons finds the numeric conditions of a question. unresolved lists the ones whose column
// the words before them do not name ("more than 2" after "parties had").
//
// The column is the one the word right before the comparison names ("a tip above 5", "parties of
// size above 3", "the bill is at least 20"), not any column earlier in the question: in "the
// average tip for parties larger than 4" the condition is on parties, which names no column, so it
// is unresolved rather than read as a tip above 4. An equality ("survived = 1") on a column that
// is not numeric is left to the value and boolean conditions.
func comparisons(s *Schema, question string) (fs []Filter, unresolved []string) {
	lq := " " + strings.ToLower(question)
	lq = strings.ReplaceAll(lq, " zero ", " 0 ")
	for _, m := range orMoreRE.FindAllStringSubmatch(lq, -1) {
		col, _ := nearestColumn(s, m[1])
		older := m[3] == "older" || m[3] == "younger"
		if older && s.Col("age").IsNumeric() {
			col = "age" // "passengers aged 30 or older"
		}
		if col == "" {
			unresolved = append(unresolved, m[2]+" or "+m[3])
			continue
		}
		op := ">="
		switch m[3] {
		case "less", "younger", "under", "below", "lower", "fewer", "smaller":
			op = "<="
		}
		fs = append(fs, Filter{Col: col, Op: op, Value: m[2], Numeric: true})
		lq = strings.Replace(lq, m[0], " ", 1)
	}
	// "under age 18", "over a price of 500": the column's name between the comparison and the number.
	for _, m := range opColNumRE.FindAllStringSubmatch(lq, -1) {
		for _, c := range Resolve(s, m[2]).Columns {
			if s.Col(c).IsNumeric() {
				fs = append(fs, Filter{Col: c, Op: comparisonOps[m[1]], Value: m[3], Numeric: true})
				lq = strings.Replace(lq, m[0], " ", 1)
				break
			}
		}
	}
	// "more than 4 cylinders", "fewer than 6 cylinders": the comparison, then the number, then the
	// column's name (before countNounRE, which would read "4 cylinders" as cylinders = 4).
	for _, m := range opNumColRE.FindAllStringSubmatch(lq, -1) {
		for i := range s.Columns {
			c := &s.Columns[i]
			if c.IsNumeric() && namesColumn(c, m[3]) {
				fs = append(fs, Filter{Col: c.Name, Op: comparisonOps[m[1]], Value: m[2], Numeric: true})
				lq = strings.Replace(lq, m[0], " ", 1)
				break
			}
		}
	}
	for _, m := range countNounRE.FindAllStringSubmatch(lq, -1) {
		for i := range s.Columns {
			c := &s.Columns[i]
			if c.IsNumeric() && lowCard(c) && namesColumn(c, m[2]) {
				fs = append(fs, Filter{Col: c.Name, Op: "=", Value: m[1], Numeric: true})
				lq = strings.Replace(lq, m[0], " ", 1)
				break
			}
		}
	}
	for _, m := range betweenRE.FindAllStringSubmatch(lq, -1) {
		col, _ := nearestColumn(s, m[1])
		if y := yearColumn(s); y != "" && col != y && isYear(m[2]) && isYear(m[3]) {
			col = y // "Germany's spending between 1990 and 2000": the years
			m[2], m[3] = yearValue(s.Col(y), m[2]), yearValue(s.Col(y), m[3])
		}
		if col == "" {
			unresolved = append(unresolved, strings.TrimSpace("between "+m[2]+" and "+m[3]))
			continue
		}
		fs = append(fs, Filter{Col: col, Op: ">=", Value: m[2], Numeric: true}, Filter{Col: col, Op: "<=", Value: m[3], Numeric: true})
		lq = strings.Replace(lq, m[0], "", 1)
	}
	for _, m := range comparisonRE.FindAllStringSubmatch(lq, -1) {
		op := comparisonOps[m[2]]
		col, named := nearestColumn(s, m[1])
		if (m[2] == "older than" || m[2] == "younger than") && s.Col("age").IsNumeric() {
			col, named = "age", "age" // "passengers older than 60"
		}
		if (m[2] == "after" || m[2] == "before" || m[2] == "since") && col == "" {
			col, named = yearColumn(s), yearColumn(s) // "after 2000": the year column
		}
		if col != "" && col == yearColumn(s) {
			m[3] = yearValue(s.Col(col), m[3]) // "made before 1975" on model_year 70-82
		}
		if m[2] == "is" && col == "" {
			continue // "what is 5" with no column: not a condition
		}
		if named != "" && !s.Col(named).IsNumeric() && op == "=" {
			continue
		}
		if col == "" {
			unresolved = append(unresolved, strings.TrimSpace(m[2]+" "+m[3]))
			continue
		}
		fs = append(fs, Filter{Col: col, Op: op, Value: m[3], Numeric: true})
	}
	return fs, unresolved
}

// nearestColumn reads the last word before a comparison that is not a stopword ("tip" in "bills
// had a tip"), with the word before it when the two name a column together ("total bill"). named
// is the column it names; col is that column when it is numeric.
func nearestColumn(s *Schema, before string) (col, named string) {
	ws := words(before)
	for len(ws) > 0 && stopwords[ws[len(ws)-1]] {
		ws = ws[:len(ws)-1]
	}
	if len(ws) == 0 {
		return "", ""
	}
	last := ws[len(ws)-1]
	try := []string{last}
	if len(ws) > 1 && !stopwords[ws[len(ws)-2]] {
		try = append(try, ws[len(ws)-2]+" "+last)
	}
	for _, phrase := range try {
		r := Resolve(s, phrase)
		for i := len(r.Columns) - 1; i >= 0; i-- {
			c := r.Columns[i]
			if match(c, []string{last}) <= 0 && !strings.Contains(strings.Join(words(c), ""), last) {
				continue // the word before named it alone ("tip" of "tip parties")
			}
			if s.Col(c).IsNumeric() {
				return c, c
			}
			named = c
		}
	}
	return "", named
}

// negators are the words that turn a value into its exclusion ("not Sunday", "excluding Sunday",
// "other than Sunday", "non-smokers").
var negators = map[string]bool{"no": true, "not": true, "excluding": true, "exclude": true, "except": true, "besides": true,
	"without": true, "non": true, "isn": true, "aren": true, "wasn": true, "weren": true, "didn": true, "never": true}

// negFiller are the words that may stand between a negator and the value it excludes ("not on
// Sunday", "day is not Sun", "except at lunch").
var negFiller = map[string]bool{"on": true, "at": true, "in": true, "for": true, "from": true, "the": true, "a": true,
	"an": true, "is": true, "was": true, "be": true, "during": true, "of": true, "to": true, "t": true}

// negated reports whether the value at position at of the question's words is excluded: a negator
// right before it, or with only filler words between ("day is not Sun", "except on Sundays"), or
// "other than" right before. Any other word ends the negation's reach: in "non-smokers on
// Saturday" the "non" belongs to smokers, not to Saturday.
func negated(qw []string, at int) bool { return negatedVerb(qw, at, nil) }

// verbNegators negate the verb after them ("did not embark at Southampton").
var verbNegators = map[string]bool{"not": true, "never": true, "didn": true, "don": true, "doesn": true}

// negatedVerb is negated that also lets a "not" reach across one verb to the value ("did not embark
// at Southampton": embark_town != Southampton), unless the verb names a yes/no column (in yesNo:
// "did not survive in first class" negates survived, not First).
func negatedVerb(qw []string, at int, yesNo map[string]bool) bool {
	skipped := false
	for k := at - 1; k >= 0 && k >= at-5; k-- {
		switch {
		case negators[qw[k]]:
			return true
		case qw[k] == "than" && k > 0 && qw[k-1] == "other":
			return true
		case negFiller[qw[k]]:
		case yesNo != nil && !skipped && !yesNo[qw[k]] && !yesNo[stem(qw[k])] && k > 0 && (verbNegators[qw[k-1]] || qw[k-1] == "t" && k > 1 && verbNegators[qw[k-2]]):
			skipped = true // the verb right after "not"
		default:
			return false
		}
	}
	return false
}

// yesNoWords are the words that name the question's yes/no columns ("survive", "smokers"): a "not"
// before them negates that column, not a value after them.
func yesNoWords(s *Schema, qw []string) map[string]bool {
	out := map[string]bool{}
	for i := range s.Columns {
		c := &s.Columns[i]
		if _, _, ok := yesNo(c); !ok {
			continue
		}
		for j, w := range qw {
			if _, ok := namedAt(c, qw, j); ok {
				out[w] = true
			}
		}
	}
	return out
}

// valueFilter is the condition for the values of one column the question names: = or != for one,
// in or not in for several ("on Saturday or Sunday": the rows of either day).
func valueFilter(col string, ms []mention, qw []string, yesNo map[string]bool) Filter {
	neg := false
	vals := make([]string, len(ms))
	for i, m := range ms {
		vals[i] = m.value
		neg = neg || negatedVerb(qw, m.at, yesNo)
	}
	if len(vals) == 1 {
		op := "="
		if neg {
			op = "!="
		}
		return Filter{Col: col, Op: op, Value: vals[0]}
	}
	op := "in"
	if neg {
		op = "not in"
	}
	return Filter{Col: col, Op: op, Value: vals[0], Values: vals}
}

var (
	trueWords  = map[string]bool{"true": true, "yes": true, "1": true, "y": true, "t": true}
	falseWords = map[string]bool{"false": true, "no": true, "0": true, "n": true, "f": true}
)

// yesNo reports whether a column can be a yes/no condition and the values that mean yes and no: a
// boolean, a 0/1 number (SeniorCitizen), or a category whose values include Yes and No
// (TechSupport: Yes, No, No internet service).
func yesNo(c *Column) (yes, no string, ok bool) {
	switch {
	case c.Type == "boolean":
		return "true", "false", true
	case c.IsNumeric() && len(c.Values) == 2 && c.Values[0] == "0" && c.Values[1] == "1":
		return "1", "0", true
	case c.IsGroup():
		for _, v := range c.Values {
			switch strings.ToLower(v) {
			case "yes":
				yes = v
			case "no":
				no = v
			}
		}
		// A category with No but no Yes (InternetService: DSL, Fiber optic, No): "without internet
		// service" is No, "with internet service" is anything but No (yes stays "").
		return yes, no, no != ""
	}
	return "", "", false
}

// namedAt reports whether the question's words from i name the column c, and where the name
// ends: one word ("smokers", "survived", with synonyms) or up to three glued together ("senior
// citizens" for SeniorCitizen, "tech support" for TechSupport, "no degree" for nodegree).
func namedAt(c *Column, qw []string, i int) (end int, ok bool) {
	glued := strings.Join(words(c.Name), "")
	for k := 3; k >= 1; k-- {
		if i+k > len(qw) {
			continue
		}
		w := strings.Join(qw[i:i+k], "")
		if w == glued || stem(w) == stem(glued) {
			return i + k, true
		}
	}
	if !stopwords[qw[i]] && len(words(c.Name)) == 1 && match(c.Name, qw[i:i+1]) >= 0.99 {
		return i + 1, true
	}
	return 0, false
}

// boolMentions finds the yes/no columns the question names as a condition, with the value it
// asks for: "for smokers" (yes), "non-smokers", "who did not survive" (no), "smoker = true",
// "survived = 1", "smoker is Yes" (the file's spelling), "senior citizens", "with tech support",
// "without tech support". A column named both ways ("smokers and non-smokers") comes back with
// both values.
func boolMentions(s *Schema, question string) map[string][]bool {
	qw := words(question)
	out := map[string][]bool{}
	for ci := range s.Columns {
		c := &s.Columns[ci]
		if _, _, ok := yesNo(c); !ok {
			continue
		}
		for i := range qw {
			end, ok := namedAt(c, qw, i)
			if !ok {
				continue
			}
			v := !negated(qw, i)
			// An explicit value after the name: "smoker = true", "survived is 0", "smoker is not Yes".
			j := end
			for j < len(qw) && (qw[j] == "is" || qw[j] == "was" || qw[j] == "equals" || qw[j] == "equal" || qw[j] == "to") {
				j++
			}
			flip := false
			if j < len(qw) && qw[j] == "not" {
				flip, j = true, j+1
			}
			if j < len(qw) {
				switch x := qw[j]; {
				case trueWords[x] || (c.TrueLabel != "" && x == strings.ToLower(c.TrueLabel)):
					v = true != flip
				case falseWords[x] || (c.FalseLabel != "" && x == strings.ToLower(c.FalseLabel)):
					v = false != flip
				}
			}
			if !slices.Contains(out[c.Name], v) {
				out[c.Name] = append(out[c.Name], v)
			}
		}
	}
	return out
}

// boolFilter is the condition "column is true" (or false), named with the file's spelling.
func boolFilter(c *Column, v bool) Filter {
	yes, no, _ := yesNo(c)
	switch {
	case c.Type == "boolean":
		f := Filter{Col: c.Name, Op: "=", Value: "false", Bool: true, Label: c.FalseLabel}
		if v {
			f.Value, f.Label = "true", c.TrueLabel
		}
		return f
	case c.IsNumeric():
		f := Filter{Col: c.Name, Op: "=", Value: no, Numeric: true}
		if v {
			f.Value = yes
		}
		return f
	}
	switch {
	case v && yes == "":
		return Filter{Col: c.Name, Op: "!=", Value: no}
	case v:
		return Filter{Col: c.Name, Op: "=", Value: yes}
	}
	return Filter{Col: c.Name, Op: "=", Value: no}
}

// weekendFilter reads "on weekends" ("at the weekend") and "on weekdays" as the rows of a day
// column whose values include Saturday and Sunday (Sat/Sun or the full names).
func weekendFilter(c *Column, lq string) (Filter, bool) {
	end := has(lq, `weekends?\b`)
	if !c.IsGroup() || !end && !has(lq, `weekdays?\b`) {
		return Filter{}, false
	}
	var days []string
	for _, v := range c.Values {
		switch strings.ToLower(v) {
		case "sat", "saturday", "sun", "sunday":
			days = append(days, v)
		}
	}
	if len(days) != 2 {
		return Filter{}, false
	}
	op := "in"
	if !end {
		op = "not in"
	}
	return Filter{Col: c.Name, Op: op, Value: days[0], Values: days}, true
}
