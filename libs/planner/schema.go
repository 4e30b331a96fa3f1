// Package planner turns a question about a dataset into a plan of real tool calls, runs it, checks the
// result in a debate and renders the conversation as a report. The built-in planner needs no network:
// it recognises the question's intent against the dataset's schema, resolves column names loosely and
// runs a fixed plan per intent. Every number in an answer comes from a tool call on the data.
package planner

import (
	"sort"
	"strings"
	"unicode"
)

// Column is one column of the dataset as the planner sees it.
type Column struct {
	Name string
	// numeric, categorical, boolean, datetime, text, identifier, empty.
	Type    string
	Missing int64
	// Values holds a few frequent values of low-cardinality columns (for resolving "month-to-month").
	Values []string
	// TrueLabel and FalseLabel are the spellings a boolean column had in the file ("Yes", "No"),
	// so answers name its groups as the user wrote them; empty when unknown.
	TrueLabel, FalseLabel string
}

// Schema is the dataset the question is about.
type Schema struct {
	DatasetID string
	Version   int32
	Name      string
	Rows      int64
	Columns   []Column
}

// Col returns the named column.
func (s *Schema) Col(name string) *Column {
	for i := range s.Columns {
		if s.Columns[i].Name == name {
			return &s.Columns[i]
		}
	}
	return nil
}

// IsNumeric reports whether the column holds numbers.
func (c *Column) IsNumeric() bool { return c != nil && c.Type == "numeric" }

// IsGroup reports whether the column can split rows into groups.
func (c *Column) IsGroup() bool {
	return c != nil && (c.Type == "categorical" || c.Type == "boolean")
}

// words splits text into lower-case alphanumeric tokens, breaking camelCase and snake_case.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if i > 0 && unicode.IsUpper(r) && unicode.IsLower(rs[i-1]) {
				flush()
			}
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// stem reduces a word to a crude singular form so "passengers" meets "passenger" and "charges" meets "charge".
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:len(w)-1]
	}
	return w
}

// units are column-name suffixes people leave out when they speak ("flipper length" for flipper_length_mm).
var units = map[string]bool{"mm": true, "cm": true, "g": true, "kg": true, "m": true, "km": true, "usd": true, "pct": true, "id": false}

// synonyms map words of a question to words of column names.
var synonyms = map[string][]string{
	"price": {"cost", "fare", "charge"}, "cost": {"price", "charge", "fare"}, "fare": {"price", "ticket"},
	"weight": {"mass"}, "mass": {"weight"}, "sex": {"gender"}, "gender": {"sex"}, "age": {"old"},
	"churn": {"attrition", "churned", "leave", "leaving", "cancel", "cancellation"}, "survive": {"survived", "survival"}, "survival": {"survived", "survive"}, "survivor": {"survived", "survive"},
	"passenger": {"traveller", "traveler"}, "tip": {"gratuity"}, "bill": {"total"},
	"colour": {"color"}, "economy": {"mpg"}, "pay": {"fare", "price"}, "paid": {"fare", "price"}, "mileage": {"mpg"}, "spent": {"spending", "spend"}, "spend": {"spending"},
	"duration": {"tenure"}, "tenure": {"duration", "loyalty"}, "plan": {"contract"}, "contract": {"plan"},
}

func init() {
	// Synonyms work both ways.
	for k, vs := range synonyms {
		for _, v := range vs {
			if !contains(synonyms[v], k) {
				synonyms[v] = append(synonyms[v], k)
			}
		}
	}
}

// match scores how well a column is named in the question's tokens: the share of the column's name
// tokens (units excepted) found in the question, exactly, by stem or by synonym.
func match(col string, q []string) float64 {
	cw := words(col)
	qs := map[string]bool{}
	for _, w := range q {
		qs[w], qs[stem(w)] = true, true
		for _, syn := range synonyms[stem(w)] {
			qs[syn] = true
		}
	}
	// The whole name glued together ("pclass", "totalcharges").
	glued := strings.Join(cw, "")
	for _, w := range q {
		if w == glued || stem(w) == stem(glued) {
			return 1.01
		}
	}
	var need, got float64
	for _, w := range cw {
		if units[w] {
			continue
		}
		need++
		if qs[w] || qs[stem(w)] {
			got++
		}
	}
	if need == 0 {
		return 0
	}
	return got / need
}

// Resolution is the result of looking for columns in a question.
type Resolution struct {
	// Columns named in the question, in the order they appear in it.
	Columns []string
	// Ambiguous lists, for a phrase that names several columns equally well, the candidates.
	Ambiguous [][]string
}

// Resolve finds the columns a question names: by name (any case, spacing, plural), by synonym, and by
// a value the column holds ("month-to-month customers" names Contract).
func Resolve(s *Schema, question string) Resolution {
	q := words(question)
	type cand struct {
		name  string
		score float64
		pos   int
	}
	var cands []cand
	for _, c := range s.Columns {
		sc := match(c.Name, q)
		if sc >= 0.99 {
			cands = append(cands, cand{c.Name, sc, firstPos(c.Name, q)})
		}
	}
	// Columns whose full name is contained in a longer matched column's name lose to it
	// ("length" vs "flipper_length_mm" when both match), unless the question has the short one alone.
	var res Resolution
	used := map[int]string{}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return len(words(cands[i].name)) > len(words(cands[j].name))
	})
	groups := map[string][]string{}
	var keys []string
	for _, c := range cands {
		key := strings.Join(matchedWords(c.name, q), " ")
		if prev, ok := used[c.pos]; ok && prev != c.name && strings.Contains(strings.Join(words(prev), " "), key) && key != strings.Join(words(prev), " ") {
			continue
		}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], c.name)
		used[c.pos] = c.name
	}
	// Order by position in the question.
	sort.SliceStable(keys, func(i, j int) bool { return firstPos(groups[keys[i]][0], q) < firstPos(groups[keys[j]][0], q) })
	for _, k := range keys {
		g := groups[k]
		if len(g) == 1 {
			res.Columns = append(res.Columns, g[0])
			continue
		}
		// A glued exact name wins over partial matches ("class" vs "pclass": both exact, so ambiguous only if equal).
		exact := []string{}
		for _, n := range g {
			for _, w := range q {
				if strings.EqualFold(strings.Join(words(n), ""), w) {
					exact = append(exact, n)
					break
				}
			}
		}
		if len(exact) == 1 {
			res.Columns = append(res.Columns, exact[0])
			continue
		}
		res.Ambiguous = append(res.Ambiguous, g)
	}
	pc, pa := partial(s, q, append(res.Columns, flatten(res.Ambiguous)...))
	res.Columns = append(res.Columns, pc...)
	res.Ambiguous = append(res.Ambiguous, pa...)
	// Values: "month-to-month" or "electronic check" name their column.
	for _, c := range s.Columns {
		if contains(res.Columns, c.Name) || c.IsNumeric() {
			continue
		}
		for _, v := range c.Values {
			vw := words(v)
			if len(vw) == 0 || (len(vw) == 1 && len(vw[0]) < 4) {
				continue
			}
			if containsSeq(q, vw) {
				res.Columns = append(res.Columns, c.Name)
				break
			}
		}
	}
	return res
}

func matchedWords(col string, q []string) []string {
	var out []string
	for _, w := range words(col) {
		if !units[w] {
			out = append(out, stem(w))
		}
	}
	return out
}

// firstPos is where a column's name is complete in the question: the latest first occurrence of its
// name tokens (so "petal length and petal width" orders petal_length before petal_width).
func firstPos(col string, q []string) int {
	cw := words(col)
	glued := strings.Join(cw, "")
	for i, w := range q {
		if w == glued || stem(w) == stem(glued) {
			return i
		}
	}
	pos := -1
	for _, c := range cw {
		if units[c] {
			continue
		}
		at := len(q) + 1
		for i, w := range q {
			sw := stem(w)
			hit := sw == stem(c) || w == c
			for _, syn := range synonyms[sw] {
				hit = hit || syn == c || stem(syn) == stem(c)
			}
			if hit {
				at = i
				break
			}
		}
		if at > pos {
			pos = at
		}
	}
	return pos
}

// stopwords never name a column on their own.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the is are was were be of in on at by per for to from and or vs versus with without what which who whom
	how why when where does do did has have had there this that these those it its their my our your me we you i any all each every
	between among across over under than then so as into about average mean median total sum rate share count number many much
	highest lowest most least max min trend relationship correlation correlate associated compare difference differ predict
	effect impact driver drivers drive high low value values column columns data dataset table outlier outliers unusual anomaly
	anomalies missing quality describe summary overview type kind level group groups segment segments year years time`) {
		stopwords[w] = true
	}
}

// partial finds, for question words no fully named column used, the columns one of whose name tokens
// is that word: one column resolves, several are ambiguous ("charges": MonthlyCharges or TotalCharges).
func partial(s *Schema, q []string, taken []string) (cols []string, amb [][]string) {
	used := map[string]bool{}
	for _, c := range taken {
		for _, w := range words(c) {
			used[stem(w)] = true
		}
	}
	seen := map[string]bool{}
	for _, w := range q {
		sw := stem(w)
		if stopwords[w] || stopwords[sw] || used[sw] || len(w) < 3 || seen[sw] {
			continue
		}
		seen[sw] = true
		var hits []string
		for _, c := range s.Columns {
			if contains(taken, c.Name) || c.Type == "identifier" {
				continue
			}
			for _, cw := range words(c.Name) {
				if stem(cw) == sw {
					hits = append(hits, c.Name)
					break
				}
			}
		}
		switch {
		case len(hits) == 1:
			cols = append(cols, hits[0])
		case len(hits) > 1:
			amb = append(amb, hits)
		}
	}
	return cols, amb
}

func containsSeq(q, seq []string) bool {
	for i := 0; i+len(seq) <= len(q); i++ {
		ok := true
		for j := range seq {
			if q[i+j] != seq[j] && stem(q[i+j]) != stem(seq[j]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func flatten(xs [][]string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}
