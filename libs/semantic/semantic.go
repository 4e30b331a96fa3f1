// Package semantic decides what a column means to an analyst (numeric, categorical, identifier, ...)
// from a few summary statistics. The same pure function serves ingestion, which has the statistics
// from DuckDB, and profiling, which computes them from a frame; so a column gets one answer everywhere.
//
// Decisions worth knowing:
//   - A numeric column holding only the integers 0 and 1 is BOOLEAN (telco's SeniorCitizen,
//     titanic's survived): analysts group by it and test proportions, not means.
//   - Integers are IDENTIFIER only when all values are distinct and the name looks like an ID
//     ("id", "customer_id", "index", "rownames", "Unnamed: 0", ...); a sequential "year", "value"
//     or "amount" column stays NUMERIC (IntegerIdentifier, which ingestion uses too).
//   - Strings are IDENTIFIER when nearly every value is distinct, values are short and have no
//     spaces (telco's "7590-VHVEG"); TEXT when values are long or mostly contain spaces and are
//     mostly distinct (mpg's car names); otherwise CATEGORICAL, however many levels they have
//     (profiling flags high cardinality separately).
package semantic

import (
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// Stats summarises one column. Count is the number of rows including missing ones; Distinct counts
// distinct non-missing values (an estimate is fine).
type Stats struct {
	Name      string
	Kind      frame.Kind
	IsInteger bool // every non-missing numeric value is a whole number
	Count     int64
	Missing   int64
	Distinct  int64
	// String lengths in characters over non-missing values (String columns).
	MinLen, MaxLen, MeanLen float64
	// Numeric range over non-missing values (Float columns).
	Min, Max float64
	// SequentialInts: integers that are all distinct and fill the range Min..Max without gaps.
	SequentialInts bool
	// SpaceShare is the share of non-missing string values that contain whitespace (0..1).
	SpaceShare float64
	// Values holds the distinct values when there are few (ingestion and profiling fill it when
	// Distinct <= 10); it lets yes/no pairs be recognised as BOOLEAN.
	Values []string
}

// Infer returns the semantic type of a column.
func Infer(s Stats) commonv1.SemanticType {
	present := s.Count - s.Missing
	if present <= 0 {
		return commonv1.SemanticType_SEMANTIC_TYPE_EMPTY
	}
	switch s.Kind {
	case frame.Time:
		return commonv1.SemanticType_SEMANTIC_TYPE_DATETIME
	case frame.Bool:
		return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
	case frame.String:
		return inferString(s, present)
	}
	// Float.
	if t, ok := geo(s); ok {
		return t
	}
	if s.IsInteger && s.Distinct == 2 && s.Min == 0 && s.Max == 1 {
		return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
	}
	if s.IsInteger && IntegerIdentifier(s.Name, present, s.Distinct == present, s.SequentialInts && s.Distinct == present) {
		return commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER
	}
	return commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC
}

// MinIdentifierValues is the fewest non-missing values an integer column needs to be an identifier.
const MinIdentifierValues = 10

// IntegerIdentifier is the identifier rule for a column of whole numbers with present non-missing
// values: unique (all values distinct) under an identifier's name ("id", "customer_id", "key",
// "index", ...), or sequential (the integers min..max, each once) under an index's name ("index",
// "row", "rownames", "seq", "no", "number", "Unnamed: 0", ...). Ingestion (from approximate
// distinct counts, so it decides unique and sequential itself) and profiling (exact counts) both
// use it, so that a column gets one answer. Uniqueness or a sequence alone is not enough: a
// measure ("value", "amount", "year") that happens to count 0, 1, 2, ... stays NUMERIC.
func IntegerIdentifier(name string, present int64, unique, sequential bool) bool {
	if present < MinIdentifierValues {
		return false
	}
	id, index := IdentifierName(name)
	return (unique && id) || (sequential && index)
}

// IdentifierName tells whether a column name makes unique integers an identifier (id) and whether
// it makes a sequence of integers one (index); see IntegerIdentifier. Ingestion uses it to count
// distinct values only for columns whose name could make them identifiers.
func IdentifierName(name string) (id, index bool) {
	return idLikeName(name), indexLikeName(name)
}

func inferString(s Stats, present int64) commonv1.SemanticType {
	if s.Distinct == 2 && len(s.Values) == 2 && boolPair(s.Values[0], s.Values[1]) {
		return commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
	}
	ratio := float64(s.Distinct) / float64(present)
	if s.MeanLen >= 50 && ratio >= 0.5 {
		return commonv1.SemanticType_SEMANTIC_TYPE_TEXT
	}
	if s.SpaceShare >= 0.5 && s.MeanLen >= 10 && ratio >= 0.5 {
		return commonv1.SemanticType_SEMANTIC_TYPE_TEXT
	}
	if present >= 10 && ratio >= 0.95 && s.SpaceShare < 0.1 && s.MaxLen <= 64 {
		return commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER
	}
	return commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL
}

var boolWords = map[string]int{
	"yes": 1, "no": 0, "y": 1, "n": 0, "true": 1, "false": 0, "t": 1, "f": 0,
	"1": 1, "0": 0, "on": 1, "off": 0,
}

// boolPair reports whether the two values are the two sides of a yes/no-like pair.
func boolPair(a, b string) bool {
	va, oka := boolWords[strings.ToLower(strings.TrimSpace(a))]
	vb, okb := boolWords[strings.ToLower(strings.TrimSpace(b))]
	return oka && okb && va != vb
}

var (
	nameTokens = regexp.MustCompile(`[A-Za-z][a-z]*|[0-9]+`)
	latNames   = map[string]bool{"lat": true, "latitude": true}
	lonNames   = map[string]bool{"lon": true, "lng": true, "long": true, "longitude": true}
	idNames    = map[string]bool{"id": true, "uuid": true, "guid": true, "key": true, "pk": true}
	indexNames = map[string]bool{"index": true, "idx": true, "row": true, "rowid": true, "rownames": true, "rowname": true, "seq": true, "unnamed": true}
)

// tokens splits a column name into lowercase words: "customerID" -> [customer id], "pickup_lat" ->
// [pickup lat].
func tokens(name string) []string {
	parts := nameTokens.FindAllString(name, -1)
	// Merge runs of single upper-case letters ("ID" -> "id").
	var out []string
	acc := ""
	for _, p := range parts {
		if utf8.RuneCountInString(p) == 1 && strings.ToUpper(p) == p && p[0] >= 'A' && p[0] <= 'Z' {
			acc += p
			continue
		}
		if acc != "" {
			out = append(out, strings.ToLower(acc))
			acc = ""
		}
		out = append(out, strings.ToLower(p))
	}
	if acc != "" {
		out = append(out, strings.ToLower(acc))
	}
	return out
}

func idLikeName(name string) bool {
	toks := tokens(name)
	for _, t := range toks {
		if idNames[t] || indexNames[t] {
			return true
		}
	}
	return false
}

func indexLikeName(name string) bool {
	if name == "" {
		return true
	}
	for _, t := range tokens(name) {
		if indexNames[t] || idNames[t] || t == "no" || t == "num" || t == "number" {
			return true
		}
	}
	return false
}

func geo(s Stats) (commonv1.SemanticType, bool) {
	if math.IsNaN(s.Min) || math.IsNaN(s.Max) {
		return 0, false
	}
	for _, t := range tokens(s.Name) {
		if latNames[t] && s.Min >= -90 && s.Max <= 90 {
			return commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE, true
		}
		if lonNames[t] && s.Min >= -180 && s.Max <= 180 {
			return commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE, true
		}
	}
	return 0, false
}

// Name returns the lowercase name of a semantic type ("numeric", "categorical", ...), or
// "unspecified".
func Name(t commonv1.SemanticType) string {
	switch t {
	case commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC:
		return "numeric"
	case commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL:
		return "categorical"
	case commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN:
		return "boolean"
	case commonv1.SemanticType_SEMANTIC_TYPE_DATETIME:
		return "datetime"
	case commonv1.SemanticType_SEMANTIC_TYPE_TEXT:
		return "text"
	case commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER:
		return "identifier"
	case commonv1.SemanticType_SEMANTIC_TYPE_EMPTY:
		return "empty"
	case commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE:
		return "latitude"
	case commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE:
		return "longitude"
	}
	return "unspecified"
}

// FromColumn computes Stats from a frame column (exact distinct count).
func FromColumn(c *frame.Column) Stats {
	s := Stats{Name: c.Name, Kind: c.Kind, Count: int64(c.Len()), Min: math.NaN(), Max: math.NaN()}
	if c.Kind == frame.String {
		seen := map[string]struct{}{}
		var totalLen, spaces float64
		s.MinLen = math.Inf(1)
		for i, v := range c.S {
			if c.Null[i] {
				s.Missing++
				continue
			}
			seen[v] = struct{}{}
			l := float64(utf8.RuneCountInString(v))
			totalLen += l
			s.MinLen = math.Min(s.MinLen, l)
			s.MaxLen = math.Max(s.MaxLen, l)
			if strings.ContainsAny(v, " \t\n") {
				spaces++
			}
		}
		s.Distinct = int64(len(seen))
		if present := float64(s.Count - s.Missing); present > 0 {
			s.MeanLen = totalLen / present
			s.SpaceShare = spaces / present
		} else {
			s.MinLen = 0
		}
		if len(seen) <= 10 {
			for v := range seen {
				s.Values = append(s.Values, v)
			}
		}
		return s
	}
	seen := map[float64]struct{}{}
	s.IsInteger = true
	s.Min, s.Max = math.Inf(1), math.Inf(-1)
	for i, v := range c.F {
		if c.Null[i] || math.IsNaN(v) {
			s.Missing++
			continue
		}
		seen[v] = struct{}{}
		if v != math.Trunc(v) || math.IsInf(v, 0) {
			s.IsInteger = false
		}
		s.Min = math.Min(s.Min, v)
		s.Max = math.Max(s.Max, v)
	}
	s.Distinct = int64(len(seen))
	if s.Distinct == 0 {
		s.Min, s.Max = math.NaN(), math.NaN()
		s.IsInteger = false
	}
	s.SequentialInts = s.IsInteger && s.Distinct == s.Count-s.Missing && s.Distinct > 0 &&
		s.Max-s.Min+1 == float64(s.Distinct)
	return s
}
