package planner

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// Intent kinds the built-in planner knows.
const (
	Describe     = "describe"
	Quality      = "data_quality"
	Compare      = "compare_groups"
	Relationship = "relationship"
	Trend        = "trend"
	Drivers      = "drivers"
	Predict      = "predict"
	Effect       = "effect"
	Segments     = "segments"
	Anomalies    = "anomalies"
	Hypotheses   = "hypotheses"
	Clarify      = "clarify"
)

// Intent is what a question asks, with its columns resolved against the schema.
type Intent struct {
	Kind string
	// Measure is the column summarised (compare, describe, trend, segments, anomalies) or the target
	// (drivers, predict) or the outcome (effect).
	Measure string
	// Agg is mean, median, sum, rate, count, min, max or std.
	Agg string
	// Group is the column that splits rows (compare) or the treatment (effect) or the second column of a relationship.
	Group string
	// Time is the time column of a trend.
	Time string
	// Clarification is the question asked back when Kind is Clarify.
	Clarification string
	// Options are the candidate columns of a clarification.
	Options []string
	// Filters are the row conditions the question names ("on Sunday", "a tip above 5"); every query
	// of the plan applies them.
	Filters []Filter
	// Ignored are conditions the question names that the plan cannot apply (a model or a profile
	// uses every row); the answer says so.
	Ignored []Filter
	// Rank is "highest" or "lowest" when the question asks which group ranks so (a comparison).
	Rank string
	// Top is N of "the top N …": a comparison lists its first N groups.
	Top int
}

func (in Intent) String() string {
	parts := []string{in.Kind}
	for _, kv := range [][2]string{{"measure", in.Measure}, {"agg", in.Agg}, {"group", in.Group}, {"time", in.Time}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	for _, f := range in.Filters {
		parts = append(parts, "where="+f.String())
	}
	for _, f := range in.Ignored {
		parts = append(parts, "ignored="+f.String())
	}
	return strings.Join(parts, " ")
}

func has(q string, res ...string) bool {
	for _, r := range res {
		if regexp.MustCompile(`\b` + r).MatchString(q) {
			return true
		}
	}
	return false
}

// causalVerbRE finds "does X increase Y", "did the training raise earnings": a question about the
// effect of X on Y (not a trend: "does tip increase over time" and "does tip increase with the bill"
// name no object after the verb).
var causalVerbRE = regexp.MustCompile(`\b(?:does|do|did|will|would|can)\s+.+?\s+(?:increase|decrease|raise|lower|reduce|improve|boost|hurt|help|worsen)\s+(?:the\s+|their\s+|its\s+)?([a-z][a-z0-9_]*)`)

func causalVerb(q string) bool {
	m := causalVerbRE.FindStringSubmatch(q)
	if m == nil {
		return false
	}
	switch m[1] {
	case "with", "over", "as", "when", "in", "on", "during", "by", "across", "through", "after", "time", "each", "every", "year", "month":
		return false
	}
	return true
}

var (
	yearRE  = regexp.MustCompile(`\b(?:in|during|for|of)\s+((?:19|20)\d\d)\b`)
	ratioRE = regexp.MustCompile(`\b([a-z_][a-z0-9_ -]*?)\s+as\s+an?\s+(percentage|percent|share|fraction|proportion|ratio)\s+of\s+(?:the\s+)?([a-z_][a-z0-9_ ]*)`)
)

// columnWord reports whether some column's name has the word w ("model" of model_year): then the
// word in a question names that column, not an intent.
func columnWord(s *Schema, w string) bool {
	for _, c := range s.Columns {
		if contains(words(c.Name), w) {
			return true
		}
	}
	return false
}

// superlativeAdjectives name the kind of column a superlative ranks by ("the heaviest penguins": a
// mass or weight column); lowAdjectives rank from the lowest.
var (
	superlativeAdjectives = map[string][]string{"heaviest": {"mass", "weight"}, "lightest": {"mass", "weight"},
		"longest": {"length"}, "shortest": {"length"}, "widest": {"width"}, "narrowest": {"width"},
		"oldest": {"age"}, "youngest": {"age"}, "tallest": {"height"}, "cheapest": {"price", "fare", "cost"},
		"expensive": {"price", "fare", "cost"}, "fastest": {"speed"}, "slowest": {"speed"}}
	lowAdjectives = map[string]bool{"lightest": true, "shortest": true, "narrowest": true, "youngest": true, "cheapest": true, "slowest": true}
)

// superlativeColumn finds a superlative adjective of the question and the numeric column it points
// to: the column with the adjective's word, preferring one whose other words the question has too
// ("the widest sepals": sepal_width, not petal_width).
func superlativeColumn(s *Schema, q string) (adj, col string) {
	qw := words(q)
	for _, w := range qw {
		kinds, ok := superlativeAdjectives[w]
		if !ok {
			continue
		}
		best := -1
		for _, c := range s.Columns {
			cw := words(c.Name)
			if !c.IsNumeric() {
				continue
			}
			for _, k := range kinds {
				if !contains(cw, k) {
					continue
				}
				score := 0
				for _, x := range cw {
					for _, y := range qw {
						if x != k && (x == y || stem(x) == stem(y)) {
							score++
						}
					}
				}
				if score > best {
					best, col = score, c.Name
				}
			}
		}
		return w, col
	}
	return "", ""
}

var topRE = regexp.MustCompile(`\btop\s+(\d{1,3})\b`)

var mostNounRE = regexp.MustCompile(`\b(most|fewest|least)\s+([a-z]+s)\b`)

var numberOfRE = regexp.MustCompile(`\bnumber of\s+([a-z][a-z0-9_]*)`)

var totalOfRE = regexp.MustCompile(`\btotal\s+([a-z][a-z0-9_]*)`)

// filterKinds are the intents whose plans run only SQL over the data, so row conditions apply.
var filterKinds = map[string]bool{Describe: true, Compare: true, Relationship: true, Trend: true, Anomalies: true, Quality: true}

// Recognize reads a question against the dataset's schema. A question it cannot resolve to columns
// unambiguously comes back as a Clarify intent that says what is missing and offers candidates.
// Row conditions the question names (a value of a column, a comparison with a number) become
// Filters; a column two of whose values it names is compared across them.
func Recognize(s *Schema, question string) Intent {
	mentions := valueMentions(s, question)
	valueGroup := ""
	for _, c := range s.Columns {
		if len(mentions[c.Name]) >= 2 {
			valueGroup = c.Name
			break
		}
	}
	if in, ok := ratioQuestion(s, question); ok {
		return in
	}
	in := recognize(s, question, valueGroup)
	// Words used as column names that name nothing in the data: say so rather than guess around
	// them (a clarification that offers other columns, or an answer without the grouping asked for).
	if terms, grouping := unknownTerms(s, question); len(terms) > 0 && (in.Kind == Clarify || grouping && in.Group == "") {
		return unknownClarify(s, terms)
	}
	if in.Kind == Clarify {
		return in
	}
	nums, unresolved := comparisons(s, question)
	if len(unresolved) > 0 {
		return comparisonClarify(s, unresolved[0])
	}
	qr := &reading{s: s, qw: words(question), lq: strings.ToLower(question), mentions: mentions, bools: boolMentions(s, question)}
	qr.yn = yesNoWords(s, qr.qw)
	in, only := qr.reshape(in)
	fs := append(only, qr.rowFilters(in, len(only) > 0)...)
	for _, f := range nums {
		// "Is tip greater than 2?" asks about the measure, not for the rows above 2; "how many tips
		// were above 5?" counts those rows.
		if f.Col != in.Measure || in.Agg == "count" {
			fs = append(fs, f)
		}
	}
	if len(fs) > 0 {
		if filterKinds[in.Kind] {
			in.Filters = fs
		} else {
			in.Ignored = fs
		}
	}
	return in
}

// ratioQuestion reads "the tip as a percentage of the bill": a ratio of two columns, which the plans
// do not compute; the answer says so and gives the query rather than answer about the tip alone.
func ratioQuestion(s *Schema, question string) (Intent, bool) {
	m := ratioRE.FindStringSubmatch(strings.ToLower(question))
	if m == nil {
		return Intent{}, false
	}
	x, y := "", ""
	for _, c := range Resolve(s, m[1]).Columns {
		if s.Col(c).IsNumeric() {
			x = c // the last number named before "as a percentage of"
		}
	}
	if b := Resolve(s, m[3]).Columns; len(b) > 0 && s.Col(b[0]).IsNumeric() {
		y = b[0]
	}
	if x == "" || y == "" || x == y {
		return Intent{}, false
	}
	return Intent{Kind: Clarify, Clarification: fmt.Sprintf("I do not compute a ratio of two columns (%s as a %s of %s) from a question yet, so I did not answer with %s alone. "+
		"Run it as SQL: vds exec FILE --sql 'SELECT avg(%s / %s) AS mean_ratio, sum(%s) / sum(%s) AS ratio_of_totals FROM TABLE' (TABLE is the file's name without its extension).",
		x, m[2], y, x, q(x), q(y), q(x), q(y))}, true
}

// comparisonClarify asks which column a comparison with a number is about ("more than 2 people").
func comparisonClarify(s *Schema, unresolved string) Intent {
	var numeric []string
	for _, c := range s.Columns {
		if c.IsNumeric() {
			numeric = append(numeric, c.Name)
		}
	}
	if len(numeric) > 12 {
		numeric = numeric[:12]
	}
	return Intent{Kind: Clarify, Options: numeric, Clarification: fmt.Sprintf("Which column is %q about? Put the column's name before it (for example %q); the numeric columns are: %s.",
		unresolved, firstOr(numeric, "price")+" "+unresolved, strings.Join(quoteAll(numeric), ", "))}
}

// reading is what Recognize found in a question besides its intent: its words, the values and
// yes/no columns it names, and the words that name yes/no columns (a "not" before them negates
// the column, not a value after them).
type reading struct {
	s        *Schema
	qw       []string
	lq       string
	mentions map[string][]mention
	bools    map[string][]bool
	yn       map[string]bool
}

func (r *reading) negated(m mention) bool { return negatedVerb(r.qw, m.at, r.yn) }

func (r *reading) allNegated(ms []mention) bool {
	for _, m := range ms {
		if !r.negated(m) {
			return false
		}
	}
	return len(ms) > 0
}

func (r *reading) noneNegated(ms []mention) bool {
	for _, m := range ms {
		if r.negated(m) {
			return false
		}
	}
	return true
}

// reshape corrects the intent by what the question names: a value that is a condition rather than
// a grouping, a yes/no column named both ways, two values to compare. only is the filter that
// keeps just the groups named ("versicolor and virginica").
func (r *reading) reshape(in Intent) (_ Intent, only []Filter) {
	s, qw, lq := r.s, r.qw, r.lq
	grouped := has(lq, `by`, `per`, `across`, `for each`, `each`, `which`, `compare`, `differ`, `vs\.?`, `versus`)
	// "the average tip on days other than Sunday": the column whose only named value is excluded
	// is a condition, not a grouping, unless the question asks for groups.
	if in.Kind == Compare && in.Measure != "" && !grouped && r.allNegated(r.mentions[in.Group]) {
		in = Intent{Kind: Describe, Measure: in.Measure, Agg: in.Agg}
	}
	// "How many diamonds have color D and clarity IF?": the rows with those values, not the counts
	// of the column's values.
	if in.Kind == Describe && in.Agg == "count" && in.Measure != "" && (len(r.mentions[in.Measure]) > 0 || len(r.bools[in.Measure]) == 1) {
		in.Measure = ""
	}
	if m := topRE.FindStringSubmatch(lq); m != nil && in.Kind == Compare {
		in.Top, _ = strconv.Atoi(m[1])
	}
	// "What's the largest sepal length among setosa flowers?": a value of the would-be grouping
	// column is a condition, and the superlative is the maximum (or minimum) within it.
	if ms := r.mentions[in.Group]; in.Kind == Compare && in.Rank != "" && len(ms) == 1 && !r.negated(ms[0]) {
		agg := "max"
		if in.Rank == "lowest" {
			agg = "min"
		}
		in = Intent{Kind: Describe, Measure: in.Measure, Agg: agg}
	}
	// "the churn rate for customers with dependents": a rate (or average) of the first column for
	// the rows where the second, a yes/no column, holds; not the association of the two.
	if in.Kind == Relationship && has(lq, `rate`, `share`, `percent`, `proportion`, `average`, `mean`, `median`) {
		first, second := in.Group, in.Measure
		if firstPos(second, qw) < firstPos(first, qw) {
			first, second = second, first
		}
		if len(r.bools[second]) == 1 {
			m := s.Col(first)
			agg := "rate"
			if m.IsNumeric() && !binary(m) {
				agg = "mean"
				if has(lq, `median`) {
					agg = "median"
				}
			}
			in = Intent{Kind: Describe, Measure: first, Agg: agg}
		}
	}
	if in.Kind != Describe || in.Measure == "" {
		return in, nil
	}
	// "the average tip of smokers and non-smokers", "charges of customers who churned versus those
	// who stayed": both values of a yes/no column (or one and a "versus") compare across it.
	vs := has(lq, `versus`, `vs\.?`, `compared (to|with)`, `or not`)
	for _, c := range s.Columns {
		if (len(r.bools[c.Name]) == 2 || vs && len(r.bools[c.Name]) == 1) && c.Name != in.Measure {
			return Intent{Kind: Compare, Group: c.Name, Measure: in.Measure, Agg: in.Agg}, nil
		}
	}
	// "the mean petal length of versicolor and virginica": each of the two, compared; "Saturday or
	// Sunday" stays one set of rows.
	for _, c := range s.Columns {
		ms := r.mentions[c.Name]
		if len(ms) == 2 && c.Name != in.Measure && r.noneNegated(ms) && ms[1].at > ms[0].at &&
			contains(qw[ms[0].at:ms[1].at], "and") && !contains(qw[ms[0].at:ms[1].at], "or") {
			return Intent{Kind: Compare, Group: c.Name, Measure: in.Measure, Agg: in.Agg}, []Filter{valueFilter(c.Name, ms, qw, r.yn)}
		}
	}
	return in, nil
}

// rowFilters are the row conditions of the question for the intent in: values (kept or excluded),
// yes/no columns, weekends, years. restricted says reshape already restricted the grouping column.
func (r *reading) rowFilters(in Intent, restricted bool) []Filter {
	s, qw, lq := r.s, r.qw, r.lq
	var fs []Filter
	yearCol := yearColumn(s)
	year := yearRE.FindStringSubmatch(lq)
	for i := range s.Columns {
		c := &s.Columns[i]
		ms := r.mentions[c.Name]
		if (c.Name == in.Group || c.Name == in.Measure && in.Kind == Relationship) && len(ms) > 0 && !restricted {
			// "the average tip by day excluding Sunday": the groups without the excluded ones;
			// "clarity IF versus SI2": only the groups named (when they are not all of them).
			if r.allNegated(ms) || r.noneNegated(ms) && len(ms) >= 2 && len(ms) < len(c.Values) {
				fs = append(fs, valueFilter(c.Name, ms, qw, r.yn))
			}
		}
		if c.Name == in.Group || c.Name == in.Measure || c.Name == in.Time {
			continue
		}
		if len(ms) > 0 {
			fs = append(fs, valueFilter(c.Name, ms, qw, r.yn))
		}
		if bs := r.bools[c.Name]; len(bs) == 1 {
			fs = append(fs, boolFilter(c, bs[0]))
		}
		if f, ok := weekendFilter(c, lq); ok && len(ms) == 0 {
			fs = append(fs, f)
		}
		// "in 2020": the rows of that year of a numeric year column.
		if year != nil && c.Name == yearCol {
			fs = append(fs, Filter{Col: c.Name, Op: "=", Value: yearValue(c, year[1]), Numeric: true})
		}
	}
	// "in 1929" with no year column: the year of the first date column (dowjones' Date).
	if year != nil && yearCol == "" {
		for _, c := range s.Columns {
			if c.Type == "datetime" && c.Name != in.Time {
				fs = append(fs, Filter{Col: c.Name, Op: "=", Value: year[1], Numeric: true, YearOf: true})
				break
			}
		}
	}
	return fs
}

func firstOr(xs []string, d string) string {
	if len(xs) > 0 {
		return xs[0]
	}
	return d
}

func recognize(s *Schema, question, valueGroup string) Intent {
	q := strings.ToLower(question)
	res := Resolve(s, question)
	cols := res.Columns
	// "the total tip": total is the sum of the column after it, not a column named total (the
	// synonym that lets "the average total" name total_bill).
	if m := totalOfRE.FindStringSubmatch(q); m != nil {
		if r := Resolve(s, m[1]); len(r.Columns) == 1 && len(r.Ambiguous) == 0 {
			rest := words(strings.Replace(q, m[0], m[1], 1))
			var kept []string
			for _, c := range cols {
				if c == r.Columns[0] || match(c, rest) >= 0.99 {
					kept = append(kept, c)
				}
			}
			cols = kept
		}
	}
	// The column named after "by", "per", "across", "for each" is a grouping.
	groupAfter := func() string {
		m := regexp.MustCompile(`\b(by|per|across|for each|for every|between|among|split by|broken down by|grouped by)\b(.*)$`).FindStringSubmatch(q)
		if m == nil {
			return ""
		}
		r := Resolve(s, m[2])
		for _, c := range r.Columns {
			if cc := s.Col(c); cc.IsGroup() || (cc.IsNumeric() && lowCard(cc)) {
				return c
			}
		}
		return ""
	}
	agg := ""
	switch {
	case has(q, `median`):
		agg = "median"
	case has(q, `mean`, `average`, `avg`, `typical`):
		agg = "mean"
	case has(q, `total`, `sum`):
		agg = "sum"
	case has(q, `rate`, `share`, `proportion`, `percent`, `fraction`, `likely`, `probability`):
		agg = "rate"
	case has(q, `how many`, `counts?\b`, `number of`): // not "country"
		agg = "count"
		// "the number of passengers" where passengers is a numeric column counts its values' total,
		// not rows ("Is the number of passengers growing?" on monthly counts).
		if m := numberOfRE.FindStringSubmatch(q); m != nil && isColumnWord(s, m[1]) {
			for _, c := range s.Columns {
				if strings.Join(words(c.Name), "") == m[1] && c.IsNumeric() && !lowCard(&c) {
					agg = "sum"
				}
			}
		}
	case has(q, `max`, `highest`, `largest`, `biggest`) && !has(q, `why`):
		agg = "max"
	case has(q, `min`, `lowest`, `smallest`) && !has(q, `why`):
		agg = "min"
	case has(q, `std`, `standard deviation`, `spread`, `variance`):
		agg = "std"
	case has(q, `mean`, `average`, `avg`, `typical`):
		agg = "mean"
	}
	ambiguous := func(what string) Intent {
		opts := res.Ambiguous[0]
		return Intent{Kind: Clarify, Options: opts, Clarification: fmt.Sprintf("Which %s do you mean: %s?", what, strings.Join(quoteAll(opts), " or "))}
	}
	need := func(what string, pick func(*Column) bool) Intent {
		if len(res.Ambiguous) > 0 {
			return ambiguous(what)
		}
		var opts []string
		for _, c := range s.Columns {
			// Never offer an identifier or a constant column (rownames, a data_id of one value).
			if pick(&c) && c.Type != "identifier" && c.Type != "empty" && len(c.Values) != 1 {
				opts = append(opts, c.Name)
			}
		}
		// Likely targets (two-valued columns) first.
		sort.SliceStable(opts, func(i, j int) bool {
			bi, bj := s.Col(opts[i]), s.Col(opts[j])
			return (binary(bi) || bi.Type == "boolean") && !(binary(bj) || bj.Type == "boolean")
		})
		if len(opts) > 8 {
			opts = opts[:8]
		}
		if len(opts) == 0 {
			// Never ask back with an empty list of candidates: say what is missing instead.
			return Intent{Kind: Clarify, Clarification: fmt.Sprintf("The data has no %s, so I cannot answer that as asked. The columns are: %s.", what, strings.Join(quoteAll(names(s, 12)), ", "))}
		}
		return Intent{Kind: Clarify, Options: opts, Clarification: fmt.Sprintf("Which %s should I use? Candidates: %s.", what, strings.Join(quoteAll(opts), ", "))}
	}
	anyCol := func(*Column) bool { return true }
	measureOf := func(exclude string) string {
		for _, c := range cols {
			if c != exclude && (s.Col(c).IsNumeric() || s.Col(c).Type == "boolean" || binary(s.Col(c))) {
				return c
			}
		}
		return ""
	}
	timeCol := func() string {
		for _, c := range cols {
			if isTime(s.Col(c)) {
				return c
			}
		}
		for _, c := range s.Columns {
			if isTime(&c) {
				return c.Name
			}
		}
		return ""
	}
	switch {
	case has(q, `effect of`, `impact of`, `causal`, `cause`, `does .* affect`, `affects?\b`, `influence of`) || causalVerb(q):
		if len(cols) < 2 {
			return need("treatment and outcome", anyCol)
		}
		return Intent{Kind: Effect, Group: cols[0], Measure: cols[1]}
	case has(q, `why`, `driver`, `drive`, `what explains`, `factors?`, `reasons?`, `determin`, `contribut`):
		if len(cols) == 0 {
			return need("target column", func(c *Column) bool { return c.IsNumeric() || c.IsGroup() })
		}
		return Intent{Kind: Drivers, Measure: cols[0]}
	case has(q, `predict`, `classif`, `machine learning`) || has(q, `models?\b`) && !columnWord(s, "model"):
		if len(cols) == 0 {
			return need("target column", func(c *Column) bool { return c.IsNumeric() || c.IsGroup() })
		}
		return Intent{Kind: Predict, Measure: cols[0]}
	case has(q, `interesting`, `insight`, `hypothes`, `patterns?\b`, `stands? out`, `notable`, `surprising`):
		t := ""
		if len(cols) > 0 {
			t = cols[0]
		}
		return Intent{Kind: Hypotheses, Measure: t}
	case has(q, `missing`, `quality`, `duplicat`, `null`, `clean`, `dirty`, `blank`):
		return Intent{Kind: Quality}
	case has(q, `anomal`, `outlier`, `unusual`, `extreme`, `weird`, `strange`):
		m := measureOf("")
		return Intent{Kind: Anomalies, Measure: m}
	case has(q, `segment`, `cluster`, `cohort`, `personas?`):
		return Intent{Kind: Segments, Measure: measureOf("")}
	case has(q, `trend`, `over time`, `over the years`, `over the [a-z_ ]*years?\b`, `chang\w* over`, `through time`, `growth`, `grow`, `increas`, `decreas`, `year over year`, `seasonal`, `evolv`):
		if len(res.Ambiguous) > 0 {
			return ambiguous("column")
		}
		t := timeCol()
		m := measureOf(t)
		if t == "" {
			// "trend of tip over total_bill" without a time column: a relationship of two numbers.
			if nums := numericCols(s, cols); len(nums) >= 2 {
				return Intent{Kind: Relationship, Measure: nums[0], Group: nums[1]}
			}
			return need("time column", func(c *Column) bool { return c.Type == "datetime" })
		}
		if m == "" {
			return need("measure", func(c *Column) bool { return c.IsNumeric() && c.Name != t })
		}
		return Intent{Kind: Trend, Time: t, Measure: m, Agg: orDefault(agg, "mean")}
	case has(q, `correlat`, `relationship`, `relate`, `associat`, `depend`, `vs\.?`, `versus`, `against`, `link`) && !has(q, `by`, `per`):
		if len(res.Ambiguous) > 0 {
			return ambiguous("column")
		}
		if len(cols) < 2 {
			return need("two columns", anyCol)
		}
		// "Is A correlated with B?", "does A depend on B?": A is the response (the y of the slope);
		// "relationship between A and B" and "A vs B" keep the first as x.
		if has(q, `(correlat\w*|associat\w*|relat\w*|link\w*)\s+(with|to)`, `depends?\s+on`, `dependent\s+on`) {
			return Intent{Kind: Relationship, Measure: cols[0], Group: cols[1]}
		}
		return Intent{Kind: Relationship, Measure: cols[1], Group: cols[0]}
	}
	// "Which day has the highest average bill?": the groups of the column after which/what, ranked
	// by the measure (the answer names the highest and the lowest).
	adj, adjCol := superlativeColumn(s, q)
	if has(q, `^which`, `^what`, `^in which`) && (adj != "" || has(q, `highest`, `lowest`, `most`, `least`, `top`, `best`, `worst`, `largest`, `smallest`, `biggest`, `maximum`, `minimum`)) && (len(res.Ambiguous) == 0 || adjCol != "") {
		g := ""
		for _, c := range cols {
			if cc := s.Col(c); cc.IsGroup() || (cc.IsNumeric() && lowCard(cc)) {
				g = c
				break
			}
		}
		// "Which island has the heaviest penguins on average?": the adjective names the measure.
		if g != "" && adjCol != "" && measureOf(g) == "" {
			rank := "highest"
			if lowAdjectives[adj] {
				rank = "lowest"
			}
			a := agg
			if a != "median" {
				a = "mean"
			}
			return Intent{Kind: Compare, Group: g, Measure: adjCol, Agg: a, Rank: rank}
		}
		// "the most penguins": a plural that names no column counts rows.
		countsRows := false
		if m := mostNounRE.FindStringSubmatch(q); m != nil && !stopwords[m[2]] && len(Resolve(s, m[2]).Columns) == 0 {
			countsRows = true
		}
		if g != "" && measureOf(g) == "" && !countsRows && !has(q, `most common`, `most frequent`, `most often`, `most rows`, `how many`, `counts?\b`, `number of`, `popular`) {
			// "Which origin has the best fuel economy?" names no column to rank by: ask which, rather
			// than rank the groups by their row counts.
			return need(fmt.Sprintf("measure to rank the groups of %s by", g), func(c *Column) bool { return c.IsNumeric() && c.Name != g })
		}
		if m := measureOf(g); g != "" && m != "" {
			a := agg
			switch a {
			case "mean", "median", "sum", "rate", "count":
			default:
				a = "mean"
				if has(q, `most`, `least`) {
					a = "sum"
				}
			}
			if !s.Col(m).IsNumeric() {
				a = "rate"
			}
			rank := "highest"
			if has(q, `lowest`, `least`, `worst`, `smallest`, `minimum`) {
				rank = "lowest"
			}
			return Intent{Kind: Compare, Group: g, Measure: m, Agg: a, Rank: rank}
		}
	}
	// "Is the tip higher for smokers?", "Do smokers tip more than non-smokers?": a comparative with a
	// number and a grouping column compares the number across the groups; "Did women survive more
	// than men?" compares the column whose two values it names.
	// "less than 12" of a numeric condition and "other than" are not comparisons of groups.
	if has(comparisonRE.ReplaceAllString(strings.ReplaceAll(q, "other than", ""), " "), `higher`, `lower`, `more`, `less`, `greater`, `bigger`, `smaller`, `larger`, `better`, `worse`, `than`) && len(res.Ambiguous) == 0 {
		var g string
		for _, c := range cols {
			if s.Col(c).IsGroup() {
				g = c
				break
			}
		}
		if valueGroup != "" {
			g = valueGroup
			if m := measureOf(g); m != "" && len(numericCols(s, cols)) == 0 {
				return Intent{Kind: Compare, Group: g, Measure: m, Agg: "rate"}
			}
		}
		if nums := numericCols(s, cols); g != "" && len(nums) > 0 {
			a := agg
			if a == "" || a == "count" || a == "rate" || a == "max" || a == "min" {
				a = "mean"
			}
			return Intent{Kind: Compare, Group: g, Measure: nums[0], Agg: a}
		}
	}
	if g := groupAfter(); g != "" || has(q, `compare`, `differ`) {
		if len(res.Ambiguous) > 0 {
			return ambiguous("column")
		}
		if g == "" {
			for _, c := range cols {
				if s.Col(c).IsGroup() && !binaryTarget(s.Col(c), cols) {
					g = c
					break
				}
			}
		}
		m := measureOf(g)
		if g == "" {
			return need("grouping column", func(c *Column) bool { return c.IsGroup() })
		}
		if m == "" {
			if agg == "count" {
				return Intent{Kind: Compare, Group: g, Agg: "count"}
			}
			return need("measure to compare across "+g, func(c *Column) bool { return c.IsNumeric() })
		}
		a := agg
		if a == "" || a == "count" {
			a = "mean"
			if !s.Col(m).IsNumeric() || agg == "count" && false {
				a = "rate"
			}
		}
		return Intent{Kind: Compare, Group: g, Measure: m, Agg: a}
	}
	if has(q, `describe`, `summar`, `overview`, `tell me about`, `what is in`, `what's in`, `look like`) && len(cols) == 0 {
		return Intent{Kind: Describe}
	}
	if len(res.Ambiguous) > 0 {
		return ambiguous("column")
	}
	if len(cols) >= 1 {
		a := agg
		c := s.Col(cols[0])
		if a == "" {
			a = "mean"
		}
		if !c.IsNumeric() && a != "count" {
			a = "rate"
			if !binary(c) && c.Type != "boolean" {
				a = "count"
			}
		}
		return Intent{Kind: Describe, Measure: cols[0], Agg: a}
	}
	// "How many rows are there?" asks for the size of the dataset.
	if has(q, `rows?\b`, `records?\b`, `observations?\b`, `entries\b`, `lines\b`, `how big`, `how large`) {
		return Intent{Kind: Describe}
	}
	if agg != "" {
		return need("column", func(c *Column) bool { return c.IsNumeric() })
	}
	if has(q, `data`, `dataset`, `table`, `file`) {
		return Intent{Kind: Describe}
	}
	return Intent{Kind: Clarify, Clarification: "I could not tell what to analyse. Ask, for example, for an average, a comparison by a column, a trend, or why a column is high; the columns are: " + strings.Join(quoteAll(names(s, 12)), ", ") + "."}
}

// numericCols are the numeric columns among cols, in question order.
func numericCols(s *Schema, cols []string) []string {
	var out []string
	for _, c := range cols {
		if s.Col(c).IsNumeric() {
			out = append(out, c)
		}
	}
	return out
}

func binaryTarget(c *Column, cols []string) bool {
	return len(cols) > 1 && (c.Type == "boolean" || binary(c)) && cols[0] == c.Name
}

func names(s *Schema, n int) []string {
	var out []string
	for _, c := range s.Columns {
		if len(out) < n {
			out = append(out, c.Name)
		}
	}
	return out
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func binary(c *Column) bool { return c != nil && c.Type == "categorical" && len(c.Values) == 2 }

func lowCard(c *Column) bool { return c != nil && len(c.Values) > 0 && len(c.Values) <= 12 }

func isTime(c *Column) bool {
	if c == nil {
		return false
	}
	if c.Type == "datetime" {
		return true
	}
	n := strings.ToLower(c.Name)
	return c.IsNumeric() && (n == "year" || n == "yr" || strings.HasSuffix(n, "_year") || n == "period" || n == "t")
}

// Proto is the intent on the wire.
func (in Intent) Proto() *orchestratorv1.Intent {
	return &orchestratorv1.Intent{Kind: in.Kind, Measure: in.Measure, Agg: in.Agg, Group: in.Group, Time: in.Time, Options: in.Options}
}

// FromProto reads an intent from the wire (nil for none).
func FromProto(p *orchestratorv1.Intent) *Intent {
	if p == nil || p.Kind == "" {
		return nil
	}
	return &Intent{Kind: p.Kind, Measure: p.Measure, Agg: p.Agg, Group: p.Group, Time: p.Time, Options: p.Options}
}

var followUpRE = regexp.MustCompile(`^\s*(and|what about|how about|now|same|also|then|split|broken down)\b|^\s*(by|per|across|over)\b`)

// RecognizeIn reads a question in the context of the conversation's previous intent: a follow-up that
// names only a grouping ("and by gender?"), only a time column ("and over the years?") or only a new
// measure ("what about tenure?") keeps the rest of the previous question.
func RecognizeIn(s *Schema, question string, prev *Intent) Intent {
	in := Recognize(s, question)
	if prev == nil || prev.Measure == "" || prev.Kind == Clarify {
		return in
	}
	q := strings.ToLower(question)
	short := len(words(question)) <= 6
	if !followUpRE.MatchString(q) && !(short && in.Kind == Clarify) {
		return in
	}
	res := Resolve(s, question)
	if len(res.Columns) != 1 || len(res.Ambiguous) > 0 {
		return in
	}
	c := s.Col(res.Columns[0])
	agg := prev.Agg
	if agg == "" {
		agg = "mean"
		if m := s.Col(prev.Measure); m != nil && !m.IsNumeric() {
			agg = "rate"
		}
	}
	switch {
	case isTime(c):
		return Intent{Kind: Trend, Measure: prev.Measure, Agg: agg, Time: c.Name}
	case (c.IsGroup() || lowCard(c)) && c.Name != prev.Measure && !(prev.Kind == Drivers || prev.Kind == Predict) || (c.IsGroup() && has(q, `by`, `per`, `across`)):
		return Intent{Kind: Compare, Measure: prev.Measure, Agg: agg, Group: c.Name}
	case c.IsNumeric() && prev.Kind == Compare && prev.Group != "":
		a := prev.Agg
		if a == "rate" || a == "" {
			a = "mean"
		}
		return Intent{Kind: Compare, Measure: c.Name, Agg: a, Group: prev.Group}
	}
	return in
}
