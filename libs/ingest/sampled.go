package ingest

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
)

// The sample path for delimited text (ReadRules.typing = "sample").
//
// The full check (typing = "full_check") reads every cell as text into a table, classifies every
// cell of every column, then converts: about three times DuckDB's own CSV-to-Parquet cost. The
// sample path decides each column's type and rules on the first rows only (the same rows and the
// same guess as the full check), then converts the whole file in ONE streaming
// COPY (SELECT ...) FROM read_csv(...) TO parquet, in which every column's expression raises an
// error at the first cell the sample did not foresee: a cell the column's type does not convert,
// a placeholder or blank in a column whose sample had none, a leading-zero code in a number
// column, a fraction in an integer column, a boolean spelling or date form the sample did not
// show, a malformed row (strict parsing). Any such error abandons the sample path and the file
// is converted again by the full check, so the output and the read rules never depend on the
// sample: when the sample path finishes, every cell was of a class the sample saw, and the
// per-rule cell counts are exact (see fullCounts for how each is obtained).
const (
	typingSample = "sample"
	typingFull   = "full_check"
	// fastErr marks the errors the conversion raises on purpose.
	fastErr = "vds-sample-path"
)

// sampleMaxColumns bounds the sample path: its conversion statement has a few expressions per
// column and DuckDB's cost to plan it grows faster than linearly (300 columns: 1 s and 260 MB for
// a 50-row file; 2000 columns: 35 s and 1 GB), while the full check handles wide files with
// unpivoted queries (3 s for 2000 columns).
const sampleMaxColumns = 256

// errFallback carries the reason to abandon the sample path.
type errFallback struct{ why string }

func (e *errFallback) Error() string { return e.why }

func fallback(format string, args ...any) error {
	return &errFallback{why: fmt.Sprintf(format, args...)}
}

// fastCol is what the sample path decided for one column.
type fastCol struct {
	pre, post plan              // the guess, and the plan after settling on the sample
	samp      map[string]string // collect's counts on the sample
	// Missing cells: blanks and placeholders are allowed when the sample had some (and counted);
	// empty fields (NULL) always, except in a column whose sample had blanks or placeholders but
	// no empty field: there the output's NULLs are all of one kind and need no count.
	missOK, blankOK, phOK  bool
	nullRefused            bool
	countNulls, countBlank bool // counted in a scan of the file
	slow                   bool // numbers that need the cleaning rules (currency, thousands, percent)
	symbols                string
	// For slow columns, per symbol group (currency, percent, thousands): symAll, symNone or symCount.
	symMode   [3]int
	trueText  string // the only spelling of true in the sample (booleans)
	falseText string
}

const (
	symCount = iota // some cells have the symbol: counted in a scan
	symAll          // every converted cell has it (others are refused): the count is the converted cells
	symNone         // no cell has it (any is refused): the count is 0
)

var symKeys = [3]string{"currency", "percent", "thousands"}

// symGroups are the symbols behind the currency, percent and thousands_separator counts (the full
// check's formulas in collect), in that order.
var symGroups = [3][]string{{"$", "€", "£"}, {"%"}, {","}}

func anyContains(x string, syms []string) string {
	var parts []string
	for _, c := range syms {
		parts = append(parts, "contains("+x+", "+duck.Literal(c)+")")
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// sampled tries the sample path. ok is false when the caller must run the full check (the
// reason is in rules.TypingNote); err is only for failures that the full check cannot mend.
//
// ncols is the sniffer's column count: it sizes the sample and the conversion's memory before the
// strict read says how many columns there are (a DESCRIBE of the strict read would cost a CSV
// read of its own, about 50 ms, as every read_csv statement does).
func (j *job) sampled(base, dialect []string, header bool, ncols int) (cols []*datasetsv1.Column, ok bool, err error) {
	warnings := append([]string(nil), j.warnings...)
	defer func() {
		var fb *errFallback
		if errors.As(err, &fb) {
			os.Remove(j.tmpParquet())
			j.rules.TypingNote = fb.why
			j.rules.Coercions, j.rules.BooleanLabels, j.rules.DecimalSeparator = nil, nil, ""
			j.warnings = warnings
			cols, ok, err = nil, false, nil
		}
		j.exec("DROP TABLE IF EXISTS samp")
	}()
	if err := j.ctx.Err(); err != nil {
		return nil, false, err
	}
	j.progress(0.15, "reading the first rows")
	readArgs := append(append([]string{"all_varchar = true", "strict_mode = true", "null_padding = false", "ignore_errors = false",
		"max_line_size = " + strconv.FormatInt(j.maxLineBytes(), 10)}, dialect...), "hive_partitioning = false")
	// The first rows into a table whose row count the CREATE reports, and whose columns are the
	// strict read's.
	if ncols > sampleMaxColumns {
		return nil, false, fallback("%d columns: files wider than %d columns take the full check", ncols, sampleMaxColumns)
	}
	// The conversion's database is opened meanwhile (about 40 ms; the sample's queries scan one
	// row group, so they leave the other threads idle).
	cdb := j.prepareCopyDB(ncols)
	defer func() { cdb.close() }()
	limit := j.sampleRows(ncols)
	res, err := j.conn.SQL().ExecContext(j.ctx, "CREATE TEMP TABLE samp AS SELECT * FROM read_csv("+j.csvArgs(readArgs...)+") LIMIT "+strconv.FormatInt(limit, 10))
	if err != nil {
		return nil, false, fallback("strict reading of the first rows failed: %s", cleanErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, err
	}
	rawCols, err := j.tableColumns("samp")
	if err != nil {
		return nil, false, err
	}
	if len(rawCols) > sampleMaxColumns {
		return nil, false, fallback("%d columns: files wider than %d columns take the full check", len(rawCols), sampleMaxColumns)
	}
	if len(rawCols) != ncols { // the sniffer counted otherwise: the conversion's memory follows the strict read
		cdb.close()
		cdb = j.prepareCopyDB(len(rawCols))
	}
	if n == 0 {
		return nil, false, fallback("no data rows")
	}
	whole := n < limit // the sample is the whole file: its counts are the full counts
	plans, err := j.buildPlans(rawCols, header, base, dialect)
	if err != nil {
		return nil, false, err
	}
	j.progress(0.2, "guessing column types")
	if err := j.guessFrom(plans, "samp"); err != nil {
		return nil, false, err
	}
	ms, err := j.collect(plans, "samp", true)
	if err != nil {
		return nil, false, err
	}
	fcs := make([]*fastCol, len(plans))
	for i, p := range plans {
		fc := &fastCol{pre: *p, samp: ms[i]}
		fcs[i] = fc
		if p.kind == kEmpty && !whole {
			return nil, false, fallback("column %s has no values in the first %d rows", p.name, n)
		}
	}
	// Settle on the sample (its rules are discarded: only the types are kept).
	save := struct {
		c []*datasetsv1.Coercion
		b []*datasetsv1.BooleanLabels
		d string
		w []string
	}{j.rules.Coercions, j.rules.BooleanLabels, j.rules.DecimalSeparator, append([]string(nil), j.warnings...)}
	for i, p := range plans {
		j.settle(p, ms[i], n)
		fcs[i].post = *p
		*p = fcs[i].pre
	}
	j.rules.Coercions, j.rules.BooleanLabels, j.rules.DecimalSeparator, j.warnings = save.c, save.b, save.d, save.w
	if err := j.eligible(fcs, n); err != nil {
		return nil, false, err
	}

	// The sample is not needed any more; its memory goes back before the conversion.
	if err := j.exec("DROP TABLE IF EXISTS samp"); err != nil {
		return nil, false, err
	}
	j.progress(0.3, "converting every row")
	if err := j.fastCopy(fcs, readArgs, cdb); err != nil {
		return nil, false, err
	}
	j.progress(0.8, "counting the rules applied")
	total, err := j.fullCounts(fcs, readArgs, whole)
	if err != nil {
		return nil, false, err
	}
	for i, p := range plans {
		fc := fcs[i]
		j.settle(p, fc.samp, total)
		if p.kind != fc.post.kind || p.leadZero != fc.post.leadZero {
			return nil, false, fallback("internal: column %s settled as %s on all rows but %s on the sample", p.name, kindWord(p.kind), kindWord(fc.post.kind))
		}
	}
	j.sortCoercions(plans)
	j.rules.Typing, j.rules.TypingNote = typingSample, ""
	return outColumns(plans, header), true, nil
}

// eligible refuses the sample path for the readings whose full counts it cannot get exactly.
func (j *job) eligible(fcs []*fastCol, n int64) error {
	for _, fc := range fcs {
		pre, post, m := &fc.pre, &fc.post, fc.samp
		name := pre.name
		if post.note != "" && pre.note == "" {
			return fallback("column %s: %s in the first rows", name, post.note)
		}
		if pre.kind != kText && pre.kind != kEmpty && atoi(m["fail"]) > 0 {
			return fallback("column %s: %d cell(s) in the first rows are not %s", name, atoi(m["fail"]), kindWord(pre.kind))
		}
		if pre.eu {
			return fallback("column %s uses decimal commas", name)
		}
		ph := atoi(m["ph"])
		if post.kind == kText || post.kind == kEmpty {
			ph = atoi(m["ph_text"])
		}
		blank, nulls := atoi(m["blank"]), atoi(m["nulls"])
		fc.missOK, fc.blankOK, fc.phOK = blank+ph > 0, blank > 0, ph > 0
		switch {
		case !fc.missOK:
		case nulls == 0 && (blank == 0 || ph == 0):
			fc.nullRefused = true
		default:
			fc.countNulls = true
			fc.countBlank = blank > 0 && ph > 0
		}
		switch post.kind {
		case kDouble, kBigint:
			fc.slow = atoi(m["slow"]) > 0
			if fc.slow {
				var sym string
				q := "SELECT concat_ws('', CASE WHEN bool_or(contains(x, '$')) THEN '$' END, CASE WHEN bool_or(contains(x, '€')) THEN '€' END, " +
					"CASE WHEN bool_or(contains(x, '£')) THEN '£' END, CASE WHEN bool_or(contains(x, '%')) THEN '%' END, CASE WHEN bool_or(contains(x, ',')) THEN ',' END) " +
					"FROM (SELECT " + pre.x() + " AS x FROM samp)"
				if err := j.conn.SQL().QueryRowContext(j.ctx, q).Scan(&sym); err != nil {
					return err
				}
				fc.symbols = sym
				// Whether every converted cell of the sample has each symbol group, or none does.
				// The sample's converted cells (it has no cell that fails); collect counted the
				// sample's cells with each group (its currency, percent and thousands counts: the
				// same tests, and these columns use no decimal comma).
				conv := n - nulls - blank - ph
				var has [3]int64
				for g, k := range symKeys {
					v, ok := m[k]
					if !ok {
						return fallback("internal: column %s has no %s count on the sample", name, k)
					}
					has[g] = atoi(v)
				}
				for g, syms := range symGroups {
					userPH := false
					for _, v := range j.opts.NullValues {
						for _, c := range syms {
							userPH = userPH || strings.Contains(v, c)
						}
					}
					switch {
					case has[g] == 0:
						fc.symMode[g] = symNone
					case has[g] == conv && !userPH:
						fc.symMode[g] = symAll
					default:
						fc.symMode[g] = symCount
					}
				}
			}
		case kBool:
			rows, err := j.conn.SQL().QueryContext(j.ctx, "SELECT DISTINCT x, vds_bool(x) FROM (SELECT "+pre.x()+" AS x FROM samp) WHERE vds_bool(x) IS NOT NULL")
			if err != nil {
				return err
			}
			var tt, ff []string
			for rows.Next() {
				var s string
				var b bool
				if err := rows.Scan(&s, &b); err != nil {
					rows.Close()
					return err
				}
				if b {
					tt = append(tt, s)
				} else {
					ff = append(ff, s)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(tt) > 1 || len(ff) > 1 {
				return fallback("column %s spells its booleans in several ways (%s)", name, strings.Join(append(tt, ff...), ", "))
			}
			for _, s := range append(tt, ff...) {
				if strings.TrimSpace(s) != s {
					return fallback("column %s has booleans padded with white space", name)
				}
			}
			if len(tt) == 1 {
				fc.trueText = tt[0]
			}
			if len(ff) == 1 {
				fc.falseText = ff[0]
			}
		case kTime, kTimeTZ:
			if len(pre.formats) > 0 {
				return fallback("column %s has dates that are not ISO 8601 (%s)", name, strings.Join(pre.formats, ", "))
			}
		}
	}
	return nil
}

// narrowNum is a regular expression for the numbers of a slow column that use only the symbols
// the sample showed and no white space: a sub-language of reNumUS on which stripping those
// symbols gives exactly what vds_num_us's regexp_replace gives (a few plain replace calls are
// much cheaper than regexp_replace).
func narrowNum(symbols string) (re string, strip []string) {
	cur := ""
	for _, c := range []string{"$", "€", "£"} {
		if strings.Contains(symbols, c) {
			cur += c
			strip = append(strip, c)
		}
	}
	curRE := ""
	if cur != "" {
		curRE = "[" + strings.ReplaceAll(cur, "$", `\$`) + "]?"
	}
	digits := `\d*`
	if strings.Contains(symbols, ",") {
		digits = `(?:\d{1,3}(?:,\d{3})+|\d+)?`
		strip = append(strip, ",")
	}
	pct := ""
	if strings.Contains(symbols, "%") {
		pct = "%?"
		strip = append(strip, "%")
	}
	return `[+-]?` + curRE + `[+-]?` + digits + `(?:\.\d*)?(?:[eE][+-]?\d+)?` + pct + curRE, strip
}

// fastNum is a regular expression for the usual form of a slow column's numbers, a sub-language
// of narrowNum(fc.symbols) on which every refusal of the general expression passes: the symbol
// groups every converted cell of the sample had are required, those it never had are absent,
// those it had in some cells are optional; the currency sign leads, digits are mandatory, no
// exponent. Integer columns take no fraction and at most 15 digits (below 2^53). The caller
// also requires that the cell does not start with '0' (the leading-zero refusal).
func fastNum(fc *fastCol, integer bool) string {
	part := func(g int, re string) string {
		switch fc.symMode[g] {
		case symAll:
			return re
		case symCount:
			return "(?:" + re + ")?"
		}
		return ""
	}
	cur := ""
	for _, ch := range []string{"$", "€", "£"} {
		if strings.Contains(fc.symbols, ch) {
			cur += ch
		}
	}
	curRE := ""
	if cur != "" {
		curRE = part(0, "["+strings.ReplaceAll(cur, "$", `\$`)+"]")
	}
	grouped, plain, frac := `\d{1,3}(?:,\d{3})+`, `\d+`, `(?:\.\d+)?`
	if integer {
		grouped, plain, frac = `\d{1,3}(?:,\d{3}){1,4}`, `\d{1,15}`, ""
	}
	digits := plain
	if strings.Contains(fc.symbols, ",") {
		switch fc.symMode[2] {
		case symAll:
			digits = grouped
		case symCount:
			digits = "(?:" + grouped + "|" + plain + ")"
		}
	}
	pct := ""
	if strings.Contains(fc.symbols, "%") {
		pct = part(1, "%")
	}
	return "-?" + curRE + digits + frac + pct
}

// missTextMaybe is a cheap necessary condition for vds_miss_text(x) on a non-NULL x: a cell that
// is a text placeholder (padded with white space or not) is empty, or starts with white space
// (every ASCII white-space byte sorts before '!'), a no-break space, or a placeholder's first two
// characters (its only one, for a one-character placeholder). Byte-wise string comparisons cost
// almost nothing against the regular expression (about 0.08 s per 1.3M cells), which then runs
// only on the cells that pass ("note 940" no longer does for "null" and "n/a": "no" is no
// placeholder's start).
func missTextMaybe(x string, extraNulls []string) string {
	parts := []string{x + " < '!'", "prefix(" + x + ", " + duck.Literal("\u00a0") + ")"}
	seen := map[string]bool{}
	for _, t := range append(append([]string(nil), textPlaceholders...), extraNulls...) {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		r := []rune(t)
		if len(r) > 2 {
			r = r[:2]
		}
		p := string(r)
		if seen[p] {
			continue
		}
		seen[p] = true
		if last := p[len(p)-1]; isASCIIPrintable(p) && last < 0x7e {
			// x starts with p: x >= p and x < p with its last byte incremented (byte-wise comparison).
			parts = append(parts, "("+x+" >= "+duck.Literal(p)+" AND "+x+" < "+duck.Literal(p[:len(p)-1]+string(rune(last+1)))+")")
		} else {
			parts = append(parts, "prefix("+x+", "+duck.Literal(p)+")")
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// fastCopy writes the Parquet file in one pass; a cell the sample did not foresee stops it.
func (j *job) fastCopy(fcs []*fastCol, readArgs []string, cdb *copyDB) error {
	// Three levels: base reads each column's text once (and, for slow numbers, whether it has
	// each symbol group: computed once, used by the value and by the refusals), inner computes
	// the numeric values, outer each column's value or refusal.
	var base, inner, outer []string
	for i, fc := range fcs {
		p := &fc.pre
		n := strconv.Itoa(i)
		c, t, d := "c"+n, "t"+n, "d"+n
		base = append(base, p.x()+" AS "+c)
		// For slow numbers, whether the cell has each symbol group: used only by the general
		// expression, which runs only on the cells the cheap form test (fastNum) does not take,
		// so it is written inline there instead of being computed for every row.
		var g [3]string
		if fc.slow && (fc.post.kind == kDouble || fc.post.kind == kBigint) {
			for k, syms := range symGroups {
				g[k] = anyContains(c, syms)
			}
		}
		fail := func(typ string) string {
			return "CAST(error('" + fastErr + ": column ' || " + duck.Literal(p.name) + " || ': ' || " + c + ") AS " + typ + ")"
		}
		// miss: the branches for a cell that did not convert: a blank or a placeholder is
		// missing when the sample had that kind, refused otherwise.
		ok := func(b bool, typ string) string {
			if b {
				return "NULL"
			}
			return fail(typ)
		}
		miss := func(typ string) string {
			if !fc.missOK {
				return ""
			}
			return "WHEN vds_blank(" + c + ") THEN " + ok(fc.blankOK, typ) + " WHEN vds_miss(" + c + ") THEN " + ok(fc.phOK, typ) + " "
		}
		// isNull is the first branch: an empty field is missing, or refused (see fastCol).
		isNull := func(typ string) string {
			if fc.nullRefused {
				return "WHEN " + c + " IS NULL THEN CAST(error('" + fastErr + ": column ' || " + duck.Literal(p.name) + " || ': an empty cell' || COALESCE(" + c + ", '')) AS " + typ + ") "
			}
			return "WHEN " + c + " IS NULL THEN NULL "
		}
		lz := func(typ string) string {
			return "WHEN prefix(" + c + ", '0') AND regexp_matches(" + c + ", '^0[0-9]') THEN " + fail(typ) + " "
		}
		var e string
		var symChecks func(string) string
		switch fc.post.kind {
		case kText:
			mt := fail("VARCHAR")
			if fc.missOK {
				mt = "CASE WHEN vds_blank(" + c + ") THEN " + ok(fc.blankOK, "VARCHAR") + " ELSE " + ok(fc.phOK, "VARCHAR") + " END"
			}
			e = "CASE " + isNull("VARCHAR") + "WHEN " + missTextMaybe(c, j.opts.NullValues) + " AND vds_miss_text(" + c + ") THEN " + mt + " ELSE " + c + " END"
		case kEmpty:
			e = "CASE " + isNull("VARCHAR") + "WHEN vds_miss(" + c + ") THEN CAST(NULL AS VARCHAR) ELSE " + fail("VARCHAR") + " END"
		case kDouble, kBigint:
			tv := "TRY_CAST(" + c + " AS DOUBLE)"
			dv := "nullif(" + t + ", 'NaN'::DOUBLE)"
			// inline: t and d are written into the general expression instead of projected for
			// every row, because a cheaper test in front of it takes almost every cell.
			inline := false
			var front, frontVal string
			if fc.slow {
				re, strip := narrowNum(fc.symbols)
				s := c
				for _, ch := range strip {
					s = "replace(" + s + ", " + duck.Literal(ch) + ", '')"
				}
				// A cell with one of these symbols never casts to DOUBLE (and trying is not free):
				// its value is vds_num_us's, computed more cheaply when it has the sample's form.
				sym := "(" + g[0] + " OR " + g[1] + " OR " + g[2] + ")"
				tv = "CASE WHEN " + sym + " THEN NULL ELSE " + tv + " END"
				dv = "CASE WHEN " + sym + " THEN COALESCE(CASE WHEN regexp_full_match(" + c + ", " + duck.Literal(re) + ") THEN TRY_CAST(" + s + " AS DOUBLE) END, vds_num_us(" + c + ")) " +
					"ELSE COALESCE(nullif(TRY_CAST(" + c + " AS DOUBLE), 'NaN'::DOUBLE), vds_num_us(" + c + ")) END"
				inline = true
				front = "NOT prefix(" + c + ", '0') AND regexp_full_match(" + c + ", " + duck.Literal(fastNum(fc, fc.post.kind == kBigint)) + ")"
				frontVal = "TRY_CAST(" + s + " AS DOUBLE)"
				if fc.post.kind == kBigint {
					frontVal = "CAST(" + frontVal + " AS BIGINT)"
				}
			} else if fc.post.kind == kBigint {
				// A canonical integer (what CAST(v AS VARCHAR) writes: no sign but '-', no leading
				// zero, no '.', exponent, '_' or white space) below 2^53 is what every check of the
				// general expression lets through, with the same value.
				v := "v" + n
				inner = append(inner, "TRY_CAST("+c+" AS BIGINT) AS "+v)
				dv = "nullif((" + tv + "), 'NaN'::DOUBLE)"
				inline = true
				front = v + " IS NOT NULL AND CAST(" + v + " AS VARCHAR) = " + c + " AND abs(" + v + ") < 9007199254740992"
				frontVal = v
			}
			if inline {
				t, d = "("+tv+")", "("+dv+")"
			} else {
				inner = append(inner, tv+" AS "+t, dv+" AS "+d)
			}
			symChecks = func(typ string) string {
				out := ""
				for gi := range symGroups {
					switch {
					case !fc.slow:
					case fc.symMode[gi] == symNone:
						out += "WHEN " + g[gi] + " THEN " + fail(typ) + " "
					case fc.symMode[gi] == symAll:
						out += "WHEN " + d + " IS NOT NULL AND NOT " + g[gi] + " THEN " + fail(typ) + " "
					}
				}
				return out
			}
			if fc.post.kind == kDouble {
				e = "CASE " + isNull("DOUBLE") + lz("DOUBLE") + symChecks("DOUBLE") + "WHEN " + d + " IS NOT NULL THEN " + d + " " + miss("DOUBLE") + "ELSE " + fail("DOUBLE") + " END"
			} else {
				// Integers: the full check makes the column DOUBLE when a converted cell has a
				// fraction or an exponent, or when a cell casts to NaN, infinity or 2^53 and beyond.
				e = "CASE " + isNull("BIGINT") + lz("BIGINT") + symChecks("BIGINT") +
					"WHEN NOT (abs(" + t + ") < 9007199254740992) THEN " + fail("BIGINT") + " " +
					"WHEN " + d + " IS NOT NULL THEN CASE WHEN contains(" + c + ", '.') OR contains(" + c + ", 'e') OR contains(" + c + ", 'E') THEN " + fail("BIGINT") +
					" ELSE COALESCE(TRY_CAST(" + c + " AS BIGINT), CAST(" + d + " AS BIGINT)) END " + miss("BIGINT") + "ELSE " + fail("BIGINT") + " END"
			}
			if front != "" {
				e = "CASE WHEN " + c + " IS NOT NULL AND " + front + " THEN " + frontVal + " ELSE " + e + " END"
			}
		case kBool:
			e = "CASE " + isNull("BOOLEAN")
			if fc.trueText != "" {
				e += "WHEN " + c + " = " + duck.Literal(fc.trueText) + " THEN true "
			}
			if fc.falseText != "" {
				e += "WHEN " + c + " = " + duck.Literal(fc.falseText) + " THEN false "
			}
			e += miss("BOOLEAN") + "ELSE " + fail("BOOLEAN") + " END"
		case kTime, kTimeTZ:
			typ := fc.pre.timeType()
			other := fail(typ)
			if fc.missOK {
				other = "CASE " + miss(typ) + "ELSE " + fail(typ) + " END"
			}
			// The full check casts the trimmed text; DuckDB's timestamp parser skips the spaces trim
			// removes, so a cell that casts untrimmed has the same value, and trimming only the
			// cells that do not (none, usually) saves most of the column's cost (0.15 s per 1.3M cells).
			e = "CASE " + isNull(typ) + "ELSE COALESCE(TRY_CAST(" + c + " AS " + typ + "), TRY_CAST(trim(" + c + ") AS " + typ + "), " + other + ") END"
		default:
			return fallback("internal: column %s has no sample-path reading", p.name)
		}
		outer = append(outer, e+" AS "+duck.Ident(p.name))
	}
	from := "(SELECT " + strings.Join(base, ", ") + " FROM read_csv(" + j.csvArgs(readArgs...) + "))"
	if len(inner) > 0 {
		from = "(SELECT *, " + strings.Join(inner, ", ") + " FROM " + from + ")"
	}
	q := "COPY (SELECT " + strings.Join(outer, ",\n") + "\nFROM " + from + ") TO " +
		duck.Literal(j.tmpParquet()) + " " + parquetOptions
	debugSQL(q)
	if err := j.execCopy(q, cdb); err != nil {
		if j.ctx.Err() != nil {
			return j.ctx.Err()
		}
		msg := cleanErr(err)
		if i := strings.Index(msg, fastErr+": "); i >= 0 {
			msg = "a cell the first rows did not foresee: " + msg[i+len(fastErr)+2:]
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return fallback("%s", msg)
	}
	return nil
}

// fullCounts returns the row count and fills, in fc.samp, the counts settle needs as they are on
// every row. The conversion succeeded, so every cell belongs to a class its sample showed:
//   - nulls / blank / ph / ph_text: for a column whose sample had no blank or placeholder there
//     are none (the conversion refused them) and every output NULL is an empty field. Otherwise
//     empty fields and blank cells are counted in one scan of the file (x IS NULL, vds_blank(x))
//     and the placeholders are the output's NULLs (Parquet null counts) minus those two.
//   - lz: 0 for number columns (refused); counted (the full check's formula) for text columns kept
//     as text for their leading zeros.
//   - fail 0 (refused); frac and maxabs: the sample's for DOUBLE columns (a fraction or a large
//     value seen stays seen), 0 for integer columns (a fraction, an exponent or a large value was
//     refused); currency, percent, thousands: counted with the full check's formulas.
//   - booleans: the one spelling of each class the sample showed (any other was refused).
//   - timestamps: ISO 8601 only (other forms were refused), so iso is the number converted.
//
// When the sample is the whole file its counts are already the full counts.
func (j *job) fullCounts(fcs []*fastCol, readArgs []string, whole bool) (int64, error) {
	pq := duck.Literal(j.tmpParquet())
	var total int64
	if err := j.conn.SQL().QueryRowContext(j.ctx, "SELECT COALESCE(sum(num_rows), 0) FROM parquet_file_metadata("+pq+")").Scan(&total); err != nil {
		return 0, fmt.Errorf("read parquet metadata: %w", err)
	}
	if whole {
		return total, nil
	}
	nullsOut := make([]int64, len(fcs))
	rows, err := j.conn.SQL().QueryContext(j.ctx, "SELECT column_id, sum(stats_null_count), count(*) FILTER (stats_null_count IS NULL) FROM parquet_metadata("+pq+") GROUP BY column_id ORDER BY column_id")
	if err != nil {
		return 0, fmt.Errorf("read parquet metadata: %w", err)
	}
	seen := 0
	for rows.Next() {
		var id, missing int64
		var nulls sql.NullInt64
		if err := rows.Scan(&id, &nulls, &missing); err != nil {
			rows.Close()
			return 0, err
		}
		if missing > 0 || id < 0 || int(id) >= len(fcs) {
			rows.Close()
			return 0, fallback("internal: the Parquet file has no null count for column %d", id)
		}
		nullsOut[id] = nulls.Int64
		seen++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if seen != len(fcs) && total > 0 {
		return 0, fallback("internal: the Parquet file has statistics for %d of %d columns", seen, len(fcs))
	}
	// Leading-zero codes of text columns: the output keeps every cell but the missing ones, and
	// no missing cell starts with 0 and a digit unless a user placeholder does.
	lzFromOutput := true
	for _, v := range j.opts.NullValues {
		if v = strings.TrimSpace(v); len(v) >= 2 && v[0] == '0' && v[1] >= '0' && v[1] <= '9' {
			lzFromOutput = false
		}
	}
	lzOut := map[*fastCol]int64{}
	if lzFromOutput {
		var exprs []string
		var which []*fastCol
		for _, fc := range fcs {
			if fc.post.kind == kText && fc.post.leadZero {
				exprs = append(exprs, "count(*) FILTER ("+lzCount(duck.Ident(fc.pre.name))+")")
				which = append(which, fc)
			}
		}
		if len(exprs) > 0 {
			vals := make([]int64, len(exprs))
			dest := make([]any, len(exprs))
			for i := range vals {
				dest[i] = &vals[i]
			}
			if err := j.conn.SQL().QueryRowContext(j.ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+duck.ParquetScan(j.tmpParquet())).Scan(dest...); err != nil {
				return 0, fmt.Errorf("count leading zeros: %w", err)
			}
			for i, fc := range which {
				lzOut[fc] = vals[i]
			}
		}
	}
	// One scan of the file for the counts that the output does not give.
	var exprs []string
	type slot struct {
		fc  *fastCol
		key string
	}
	var slots []slot
	add := func(fc *fastCol, key, e string) {
		exprs = append(exprs, e)
		slots = append(slots, slot{fc, key})
	}
	for _, fc := range fcs {
		x := fc.pre.x()
		if fc.countNulls {
			add(fc, "nulls", "count(*) FILTER ("+x+" IS NULL)")
		}
		if fc.countBlank {
			add(fc, "blank", "count(*) FILTER (vds_blank("+x+"))")
		}
		if fc.post.kind == kText && fc.post.leadZero && !lzFromOutput {
			add(fc, "lz", "count(*) FILTER ("+lzCount(x)+")")
		}
		for g, syms := range symGroups {
			if fc.slow && fc.symMode[g] == symCount {
				add(fc, symKeys[g], "count(*) FILTER ("+anyContains(x, syms)+")")
			}
		}
	}
	vals := make([]int64, len(exprs))
	if len(exprs) > 0 {
		dest := []any{new(int64)}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		q := "SELECT count(*), " + strings.Join(exprs, ", ") + " FROM read_csv(" + j.csvArgs(readArgs...) + ")"
		debugSQL(q)
		if err := j.conn.SQL().QueryRowContext(j.ctx, q).Scan(dest...); err != nil {
			if j.ctx.Err() != nil {
				return 0, j.ctx.Err()
			}
			return 0, fmt.Errorf("count the rules applied: %w", err)
		}
		if n := *dest[0].(*int64); n != total {
			return 0, fallback("internal: the file has %d rows but the Parquet file %d", n, total)
		}
	}
	got := make(map[*fastCol]map[string]int64)
	for i, s := range slots {
		if got[s.fc] == nil {
			got[s.fc] = map[string]int64{}
		}
		got[s.fc][s.key] = vals[i]
	}
	for i, fc := range fcs {
		g := got[fc]
		m := map[string]string{}
		for k, v := range fc.samp {
			m[k] = v
		}
		// The output's NULLs are the empty fields, the blanks and the placeholders (of the
		// kinds the conversion allowed).
		var nulls, blank, miss int64
		switch {
		case !fc.missOK:
			nulls = nullsOut[i]
		case fc.nullRefused && fc.blankOK:
			blank = nullsOut[i]
		case fc.nullRefused:
			miss = nullsOut[i]
		case fc.countBlank:
			nulls, blank = g["nulls"], g["blank"]
			miss = nullsOut[i] - nulls - blank
		case fc.blankOK:
			nulls = g["nulls"]
			blank = nullsOut[i] - nulls
		default:
			nulls = g["nulls"]
			miss = nullsOut[i] - nulls
		}
		itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
		m["nulls"], m["blank"], m["ph"], m["ph_text"] = itoa(nulls), itoa(blank), itoa(miss), itoa(miss)
		m["fail"], m["example"] = "0", ""
		m["lz"] = "0"
		if fc.post.kind == kText && fc.post.leadZero {
			m["lz"] = itoa(g["lz"])
			if lzFromOutput {
				m["lz"] = itoa(lzOut[fc])
			}
		}
		switch fc.post.kind {
		case kBigint:
			m["frac"], m["maxabs"] = "0", "0"
		case kBool:
			m["true_text"], m["false_text"] = fc.trueText, fc.falseText
		case kTime, kTimeTZ:
			m["iso"] = itoa(total - nullsOut[i])
		}
		m["decimal_comma"] = "0" // counted by the full check, reported only for decimal-comma columns (not on this path)
		for gi, k := range symKeys {
			switch fc.symMode[gi] {
			case symCount:
				m[k] = itoa(g[k])
			case symAll:
				m[k] = itoa(total - nullsOut[i])
			default:
				m[k] = "0"
			}
		}
		fc.samp = m
	}
	return total, nil
}

// lzCount is the full check's leading-zero test (collect's "lz") on SQL text x.
func lzCount(x string) string {
	return "CASE WHEN prefix(" + x + ", '0') THEN regexp_matches(" + x + ", '^0[0-9]') ELSE false END"
}

// The sample path's conversion runs in a database of its own whose memory limit is sized from the
// statement's width, not from the file, so that a long file does not fill DuckDB's buffers up to
// the configured limit (--duckdb-memory) where a short one does not: the peak memory of a 1 GB
// ingest would otherwise be well above a 100 MB one's (docs/ingestion.md, "Performance").
//
// DuckDB's ordered COPY (preserve_insertion_order, which keeps the rows in file order) buffers the
// rows of each thread's batch until they can be written in order. It reckons a batch at 4 MiB per
// column (batchBytesPerColumn), gives the unwritten batches at most a quarter of the memory limit,
// and runs one thread more than the batches that quarter holds. So the limit that still runs
// every thread is 4 x (threads - 1) batches; copyMemoryLimit adds one batch of headroom for the
// thread whose batch is written next, and never goes below copyMemoryFloor (the CSV reader's and
// the Parquet writer's own buffers) nor above the configured limit. Wide files (and the full
// check) use the configured limit.
const (
	batchBytesPerColumn = 4 << 20
	copyMemoryFloor     = 160 << 20
)

// copyMemoryLimit is the memory limit for the sample path's conversion of cols columns with
// threads threads, and whether it is below the configured one (else the job's own connection,
// with the configured limit, runs the conversion). A configured limit that is not a size (a
// percentage of the machine's memory) is kept.
func copyMemoryLimit(cols, threads int, configured string) (string, bool) {
	if configured == "" {
		configured = duck.DefaultMemoryLimit
	}
	max, ok := parseByteSize(configured)
	if !ok {
		return configured, false
	}
	if threads < 1 {
		threads = 1
	}
	need := int64(batchBytesPerColumn) * int64(cols) * int64(4*(threads-1)+1)
	if need < copyMemoryFloor {
		need = copyMemoryFloor
	}
	if need >= max {
		return configured, false
	}
	return strconv.FormatInt(need>>20, 10) + "MiB", true
}

// parseByteSize reads a memory size as DuckDB does: a number and a unit, KB/MB/GB/TB in powers
// of 1000, KiB/MiB/GiB/TiB in powers of 1024, B for bytes (case-insensitive).
func parseByteSize(s string) (int64, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || v < 0 {
		return 0, false
	}
	units := map[string]float64{
		"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}
	u, ok := units[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, false
	}
	return int64(v * u), true
}

// copyDB is the database the sample path's conversion runs in when copyMemoryLimit is below the
// configured limit, opened in the background.
type copyDB struct {
	done chan struct{}
	conn *duck.Conn
	err  error
}

// prepareCopyDB starts opening the conversion's database for cols columns; nil when the job's
// connection (the configured limit) runs the conversion.
func (j *job) prepareCopyDB(cols int) *copyDB {
	limit, smaller := copyMemoryLimit(cols, j.threads(), j.opts.MemoryLimit)
	if j.opts.copyMemory != "" {
		limit, smaller = j.opts.copyMemory, true
	}
	if !smaller {
		return nil
	}
	d := &copyDB{done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.conn, d.err = j.openDB(limit, "spill-copy")
	}()
	return d
}

func (d *copyDB) wait() (*duck.Conn, error) {
	<-d.done
	return d.conn, d.err
}

func (d *copyDB) close() {
	if d == nil {
		return
	}
	<-d.done
	d.conn.Close()
	d.conn = nil
}

// execCopy runs the sample path's conversion in cdb (with copyMemoryLimit's limit; the job's
// connection is locked with the configured limit), or on the job's connection when cdb is nil.
// When the smaller limit is too small for the file after all (DuckDB's out-of-memory error: very
// long cells, for instance), the conversion runs again on the job's connection with the
// configured limit, whose own out-of-memory error then stands.
func (j *job) execCopy(q string, cdb *copyDB) error {
	if cdb == nil {
		return j.exec(q)
	}
	c, err := cdb.wait()
	if err != nil {
		return err
	}
	err = c.Exec(j.ctx, q)
	cdb.close() // its memory goes back before anything else runs
	if err != nil && j.ctx.Err() == nil && strings.Contains(err.Error(), "Out of Memory Error") {
		if j.opts.onCopyRetry != nil {
			j.opts.onCopyRetry(err)
		}
		os.Remove(j.tmpParquet())
		return j.exec(q)
	}
	return err
}
