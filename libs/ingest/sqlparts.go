package ingest

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vdsproject/vds/libs/duck"
)

// Placeholders read as missing in columns that become numeric, boolean or timestamp (compared after
// trimming, case-insensitively).
var typedPlaceholders = []string{"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "missing", "-", "--", "?", "#n/a", "#na", "#null!", "#value!", "#div/0!"}

// Placeholders read as missing in text columns (compared after trimming, case-sensitively): only
// spellings that cannot be a real label.
var textPlaceholders = []string{"", "NA", "N/A", "n/a", "#N/A", "NaN", "null", "NULL", "Null"}

var boolTrue = []string{"true", "t", "yes", "y"}
var boolFalse = []string{"false", "f", "no", "n"}

// Number shapes (after trimming). Currency symbols and a percent sign may lead or trail.
const (
	reNumUS = `[+-]?\s*[$€£]?\s*[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?(?:[eE][+-]?\d+)?\s*%?\s*[$€£]?`
	reNumEU = `[+-]?\s*[$€£]?\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?\s*%?\s*[$€£]?`
	// Anything that may be a date or a timestamp.
	reDateish = `^\s*(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4})`
	reTZ      = `\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$`
)

// dateFamily is a set of strptime formats that can be confused with each other (day/month order).
type dateFamily struct {
	name    string
	formats [2][]string // two readings; [1] may be empty when the family is unambiguous
}

var timeSuffixes = []string{"", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p"}

func withTimes(base string) []string {
	out := make([]string, len(timeSuffixes))
	for i, s := range timeSuffixes {
		out[i] = base + s
	}
	return out
}

var dateFamilies = []dateFamily{
	{"slash", [2][]string{withTimes("%m/%d/%Y"), withTimes("%d/%m/%Y")}},
	{"dot", [2][]string{withTimes("%d.%m.%Y"), withTimes("%m.%d.%Y")}},
	{"dash", [2][]string{withTimes("%d-%m-%Y"), withTimes("%m-%d-%Y")}},
	{"ymd-slash", [2][]string{withTimes("%Y/%m/%d"), nil}},
	{"month-name", [2][]string{{"%b %d %Y", "%b %d, %Y", "%B %d %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b. %d %Y", "%b. %d, %Y"}, nil}},
}

func sqlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = duck.Literal(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func sqlIn(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = duck.Literal(s)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// strip removes currency and percent signs, no-break spaces and the thousands separator sep from
// the SQL expression x (plain replace calls are much faster than regexp_replace).
func strip(x, sep string) string {
	for _, c := range []string{sep, "$", "€", "£", "%", " ", "\u00a0"} {
		x = "replace(" + x + ", " + duck.Literal(c) + ", '')"
	}
	return x
}

// altRE is a regular expression alternative matching any of items literally.
func altRE(items []string) string {
	q := make([]string, 0, len(items))
	for _, s := range items {
		if s != "" {
			q = append(q, regexp.QuoteMeta(s))
		}
	}
	return "(?:" + strings.Join(q, "|") + ")?"
}

// createMacros defines the SQL building blocks used by the typing queries. Regular expressions are
// used instead of lower(trim(x)) IN (...) because they are several times faster in DuckDB.
func createMacros(ctx context.Context, c *duck.Conn, extraNulls []string) error {
	typed := append([]string(nil), typedPlaceholders...)
	text := append([]string(nil), textPlaceholders...)
	for _, v := range extraNulls {
		typed = append(typed, strings.TrimSpace(v))
		text = append(text, strings.TrimSpace(v))
	}
	ws := `[\s\x{a0}]*`
	lit := func(re string) string { return duck.Literal(re) }
	// exact lists the lower, upper and capitalised spellings of items (for a plain IN test).
	exact := func(items []string) string {
		var v []string
		for _, it := range items {
			v = append(v, it, strings.ToUpper(it), strings.ToUpper(it[:1])+it[1:])
		}
		return sqlIn(v)
	}
	stmts := []string{
		// Missing for typed columns (case-insensitive) / for text columns (exact spellings).
		`CREATE MACRO vds_miss(s) AS (s IS NULL OR regexp_full_match(s, ` + lit("(?i)"+ws+altRE(typed)+ws) + `))`,
		`CREATE MACRO vds_miss_text(s) AS (s IS NULL OR regexp_full_match(s, ` + lit(ws+altRE(text)+ws) + `))`,
		`CREATE MACRO vds_blank(s) AS regexp_full_match(s, ` + lit(ws) + `)`,
		`CREATE MACRO vds_num_us(s) AS CASE WHEN regexp_full_match(s, ` + lit(ws+reNumUS+ws) + `)
			THEN TRY_CAST(regexp_replace(s, '[\s\x{a0}$€£%,]', '', 'g') AS DOUBLE) END`,
		`CREATE MACRO vds_num_eu(s) AS CASE WHEN regexp_full_match(s, ` + lit(ws+reNumEU+ws) + `)
			THEN TRY_CAST(replace(regexp_replace(s, '[\s\x{a0}$€£%.]', '', 'g'), ',', '.') AS DOUBLE) END`,
		// The usual spellings are compared exactly first; other cases and padded cells use the expression.
		`CREATE MACRO vds_bool(s) AS CASE WHEN s IN ` + exact(boolTrue) + ` THEN true WHEN s IN ` + exact(boolFalse) + ` THEN false
			WHEN regexp_full_match(s, ` + lit("(?i)"+ws+altRE(boolTrue)+ws) + `) THEN true
			WHEN regexp_full_match(s, ` + lit("(?i)"+ws+altRE(boolFalse)+ws) + `) THEN false END`,
		`CREATE MACRO vds_lead0(s) AS (prefix(s, '0') AND regexp_matches(s, '^0[0-9]'))`,
	}
	for _, s := range stmts {
		debugSQL(s)
		if err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("define SQL macros: %w", err)
		}
	}
	return nil
}
