package planner

import (
	"fmt"
	"regexp"
	"strings"
)

// namedTermRE finds the words a question uses as column names: the word after an aggregate ("mean
// price") and the word after a grouping ("by borough").
var namedTermRE = regexp.MustCompile(`\b(mean|average|avg|median|total|sum|by|per|across|for each|for every|grouped by)\s+(?:the\s+|of\s+(?:the\s+)?)?`)

// timeWords name a period, not a column ("by month" asks for a time column, which the trend plan
// looks for itself).
var timeWords = map[string]bool{"day": true, "days": true, "week": true, "weeks": true, "month": true, "months": true,
	"quarter": true, "quarters": true, "year": true, "years": true, "hour": true, "hours": true, "date": true, "period": true}

// unknownTerms lists the words the question uses as column names that name no column and no value
// of one ("mean price by borough" on the tips data: price, borough). grouping reports whether one of
// them came after a grouping word.
func unknownTerms(s *Schema, question string) (terms []string, grouping bool) {
	lq := strings.ToLower(question)
	seen := map[string]bool{}
	for _, ix := range namedTermRE.FindAllStringSubmatchIndex(lq, -1) {
		m := []string{lq[ix[0]:ix[1]], lq[ix[2]:ix[3]]}
		// The phrase up to the first stopword, at most three words: "customer lifetime" of "average
		// customer lifetime value".
		var ph []string
		for _, x := range words(lq[ix[1]:]) {
			if len(ph) == 3 {
				break
			}
			if stopwords[x] || stopwords[stem(x)] {
				break
			}
			ph = append(ph, x)
		}
		w := strings.Join(ph, " ")
		if len(ph) == 0 || seen[w] || timeWords[ph[0]] || len(w) < 3 {
			continue
		}
		seen[w] = true
		if r := Resolve(s, w); len(r.Columns) > 0 || len(r.Ambiguous) > 0 || len(valueMentions(s, w)) > 0 || len(boolMentions(s, w)) > 0 {
			continue
		}
		terms = append(terms, w)
		if m[1] != "mean" && m[1] != "average" && m[1] != "avg" && m[1] != "median" && m[1] != "total" && m[1] != "sum" {
			grouping = true
		}
	}
	return terms, grouping
}

// unknownClarify is the ask-back for a question that names columns the data does not have: it says
// which words matched nothing and lists the columns (no candidates to pick: the question needs
// rewording).
func unknownClarify(s *Schema, terms []string) Intent {
	name := s.Name
	if name == "" {
		name = "the data"
	}
	what := "column named " + quoteAll(terms)[0]
	if len(terms) > 1 {
		what = "columns named " + strings.Join(quoteAll(terms), " or ")
	}
	cols := strings.Join(quoteAll(names(s, 30)), ", ")
	if len(s.Columns) > 30 {
		cols += fmt.Sprintf(" and %d more", len(s.Columns)-30)
	}
	return Intent{Kind: Clarify, Clarification: fmt.Sprintf("%s has no %s (nor a value by that name). Its columns are: %s. Ask again naming one of them.",
		name, what, cols)}
}
