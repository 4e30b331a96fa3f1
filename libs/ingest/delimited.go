package ingest

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
)

const (
	sniffSampleRows = 50000
	// typeSampleCells bounds the rows x columns the type guess looks at (the full data is checked after).
	typeSampleCells = 2 << 20
	typeSampleRows  = 20000
)

type kind int

const (
	kText kind = iota
	kEmpty
	kDouble
	kBigint
	kBool
	kTime
	kTimeTZ
)

// plan is what the typing decided for one raw (all-text) column.
type plan struct {
	raw, name, orig string
	kind            kind
	eu              bool     // numbers use a decimal comma
	leadZero        bool     // kept as text because of leading zeros
	formats         []string // strptime formats for timestamps, besides ISO 8601
	note            string   // why the column stayed text, for a warning
	simple          bool     // no cell needs cleaning: the output is a plain cast (or the text itself)
}

func (p *plan) x() string { return duck.Ident(p.raw) }

func (p *plan) numExpr(x string) string {
	if p.eu {
		return "vds_num_eu(" + x + ")"
	}
	return "COALESCE(nullif(TRY_CAST(" + x + " AS DOUBLE), 'NaN'::DOUBLE), vds_num_us(" + x + "))"
}

func (p *plan) timeType() string {
	if p.kind == kTimeTZ {
		return "TIMESTAMPTZ"
	}
	return "TIMESTAMP"
}

func (p *plan) timeExpr(x string) string {
	t := "trim(" + x + ")"
	e := "TRY_CAST(" + t + " AS " + p.timeType() + ")"
	if len(p.formats) > 0 {
		e = "COALESCE(" + e + ", try_strptime(" + t + ", " + sqlList(p.formats) + ")::" + p.timeType() + ")"
	}
	return e
}

// convExpr is the typed value of a non-missing cell x (NULL when it does not convert).
func (p *plan) convExpr(x string) string {
	switch p.kind {
	case kDouble:
		return p.numExpr(x)
	case kBigint:
		if p.eu {
			return "CAST(" + p.numExpr(x) + " AS BIGINT)"
		}
		return "COALESCE(TRY_CAST(" + x + " AS BIGINT), CAST(vds_num_us(" + x + ") AS BIGINT))"
	case kBool:
		return "vds_bool(" + x + ")"
	case kTime, kTimeTZ:
		return p.timeExpr(x)
	}
	return x
}

// fastExpr converts the common case cheaply (a plain number, an ISO timestamp); NULL otherwise.
// It never turns a placeholder into a value (NaN from "nan" is dropped). "" when there is none.
func (p *plan) fastExpr(x string) string {
	switch p.kind {
	case kDouble:
		if !p.eu {
			return "nullif(TRY_CAST(" + x + " AS DOUBLE), 'NaN'::DOUBLE)"
		}
	case kBigint:
		if !p.eu {
			return "TRY_CAST(" + x + " AS BIGINT)"
		}
	case kTime, kTimeTZ:
		return "TRY_CAST(trim(" + x + ") AS " + p.timeType() + ")"
	}
	return ""
}

// missExpr tells whether cell x is missing.
func (p *plan) missExpr(x string) string {
	if p.kind == kText || p.kind == kEmpty {
		return "vds_miss_text(" + x + ")"
	}
	return "vds_miss(" + x + ")"
}

// finalExpr is the output column.
func (p *plan) finalExpr() string {
	x := p.x()
	if p.simple {
		switch p.kind {
		case kText:
			return x
		case kDouble:
			return "TRY_CAST(" + x + " AS DOUBLE)"
		case kBigint:
			return "TRY_CAST(" + x + " AS BIGINT)"
		}
	}
	switch p.kind {
	case kText:
		return "CASE WHEN vds_miss_text(" + x + ") THEN NULL ELSE " + x + " END"
	case kEmpty:
		return "CAST(NULL AS VARCHAR)"
	}
	// Placeholders never convert, so the conversion alone gives NULL for them.
	if f := p.fastExpr(x); f != "" {
		return "COALESCE(" + f + ", " + p.convExpr(x) + ")"
	}
	return p.convExpr(x)
}

// codeExpr classifies cell x for the full check: 0 null, 1 blank, 2 text placeholder, 3 other
// placeholder, 4 does not convert, 5 converts (6: converts, but not by the fast path).
func (p *plan) codeExpr(x string) string {
	miss := "WHEN vds_miss_text(" + x + ") THEN CASE WHEN vds_blank(" + x + ") THEN 1 ELSE 2 END "
	if p.kind == kText || p.kind == kEmpty {
		return "CASE WHEN " + x + " IS NULL THEN 0 " + miss + "ELSE 5 END"
	}
	fast := ""
	if f := p.fastExpr(x); f != "" {
		fast = "WHEN " + f + " IS NOT NULL THEN 5 "
	}
	return "CASE WHEN " + x + " IS NULL THEN 0 " + fast + "WHEN (" + p.convExpr(x) + ") IS NOT NULL THEN 6 " + miss + "WHEN vds_miss(" + x + ") THEN 3 ELSE 4 END"
}

func (j *job) csvArgs(extra ...string) string {
	return duck.Literal(j.src) + ", " + strings.Join(extra, ", ")
}

func delimiterOption(d string) (string, error) {
	switch strings.ToLower(d) {
	case "":
		return "", nil
	case "tab", `\t`, "\t":
		return "\t", nil
	case "comma":
		return ",", nil
	case "semicolon":
		return ";", nil
	case "pipe":
		return "|", nil
	}
	if len([]rune(d)) != 1 {
		return "", fmt.Errorf("%w: delimiter %q must be one character", ErrInvalidOption, d)
	}
	return d, nil
}

// delimited reads delimited text into a table of text columns, types it and writes the Parquet file.
func (j *job) delimited() ([]*datasetsv1.Column, error) {
	ctx := j.ctx
	base := []string{"all_varchar = true", "null_padding = true", "strict_mode = false", "sample_size = " + strconv.Itoa(sniffSampleRows),
		"max_line_size = " + strconv.FormatInt(j.maxLineBytes(), 10)}
	delim, err := delimiterOption(j.opts.Delimiter)
	if err != nil {
		return nil, err
	}
	if delim == "" && j.rules.Format == FormatTSV {
		delim = "\t"
	}
	user := append([]string(nil), base...)
	if delim != "" {
		user = append(user, "delim = "+duck.Literal(delim))
	}
	if j.opts.Header != nil {
		user = append(user, "header = "+strconv.FormatBool(*j.opts.Header))
	}
	if err := j.checkWidth(delim); err != nil {
		return nil, err
	}
	j.progress(0.1, "sniffing the CSV dialect")
	var sDelim, sQuote, sEscape string
	var skip, sniffedCols int64
	var header bool
	err = j.conn.SQL().QueryRowContext(ctx, "SELECT Delimiter, Quote, Escape, SkipRows, HasHeader, len(Columns) FROM sniff_csv("+j.csvArgs(user...)+")").
		Scan(&sDelim, &sQuote, &sEscape, &skip, &header, &sniffedCols)
	if err != nil {
		return nil, j.csvReadError(err, "cannot detect the CSV dialect")
	}
	for _, v := range []*string{&sDelim, &sQuote, &sEscape} {
		if *v == "(empty)" {
			*v = ""
		}
	}
	dialect := []string{
		"delim = " + duck.Literal(sDelim), "quote = " + duck.Literal(sQuote), "escape = " + duck.Literal(sEscape),
		"skip = " + strconv.FormatInt(skip, 10), "header = " + strconv.FormatBool(header),
	}
	j.rules.Delimiter = sDelim
	j.rules.Quote = sQuote
	j.rules.Header = header
	if sDelim == "\t" {
		j.rules.Format = FormatTSV
	} else {
		j.rules.Format = FormatCSV
	}
	if skip > 0 {
		j.warn("skipped %d line(s) before the header or first row", skip)
	}
	if header {
		j.layout = j.readHeadLayout(sDelim, sQuote, sEscape, skip)
	}

	if !j.opts.fullCheck {
		cols, ok, err := j.sampled(base, dialect, header, int(sniffedCols))
		if err != nil || ok {
			return cols, err
		}
	} else {
		j.rules.TypingNote = "the full check was requested"
	}
	j.rules.Typing = typingFull

	j.progress(0.15, "reading rows")
	readArgs := append(append(append([]string(nil), base...), dialect...), "store_rejects = true", "hive_partitioning = false")
	if err := j.exec("CREATE TABLE raw AS SELECT * FROM read_csv(" + j.csvArgs(readArgs...) + ")"); err != nil {
		// Quoted newlines with null padding need the single-threaded reader.
		if err2 := j.exec("CREATE TABLE raw AS SELECT * FROM read_csv(" + j.csvArgs(append(readArgs, "parallel = false")...) + ")"); err2 != nil {
			// A row with more fields than the header makes the null-padding reader fail without
			// naming it; read without padding so that such rows land in reject_errors, and are
			// reported by line below.
			// (strict mode: without it the extra field is silently dropped).
			strictBase := strictArgs(base)
			strict := append(append(append([]string(nil), strictBase...), dialect...), "store_rejects = true", "hive_partitioning = false", "parallel = false")
			if err3 := j.exec("CREATE TABLE raw AS SELECT * FROM read_csv(" + j.csvArgs(strict...) + ")"); err3 != nil {
				return nil, j.csvReadError(err, "cannot read the delimited text")
			}
			base = strictBase
		}
	}
	rawCols, err := j.tableColumns("raw")
	if err != nil {
		return nil, err
	}
	var total int64
	if err := j.conn.SQL().QueryRowContext(ctx, "SELECT count(*) FROM raw").Scan(&total); err != nil {
		return nil, err
	}
	if err := j.checkRejects(total, header, sDelim); err != nil {
		return nil, err
	}

	plans, err := j.buildPlans(rawCols, header, base, dialect)
	if err != nil {
		return nil, err
	}

	j.progress(0.4, "guessing column types")
	if err := j.guessTypes(plans, total); err != nil {
		return nil, err
	}
	j.progress(0.5, "checking column types on every row")
	if err := j.verify(plans, total); err != nil {
		return nil, err
	}
	j.sortCoercions(plans)
	j.progress(0.6, "writing parquet")
	sel := make([]string, len(plans))
	for i, p := range plans {
		sel[i] = p.finalExpr() + " AS " + duck.Ident(p.name)
	}
	if err := j.exec("COPY (SELECT " + strings.Join(sel, ", ") + " FROM raw) TO " + duck.Literal(j.tmpParquet()) + " " + parquetOptions); err != nil {
		return nil, fmt.Errorf("write parquet: %w", err)
	}
	if err := j.exec("DROP TABLE raw"); err != nil {
		return nil, err
	}
	return outColumns(plans, header), nil
}

// strictArgs is base reading without null padding, in strict mode: a row with more fields than
// the header is rejected (and lands in reject_errors) instead of failing the read or losing a field.
func strictArgs(base []string) []string {
	out := append([]string(nil), base...)
	for i, a := range out {
		switch a {
		case "null_padding = true":
			out[i] = "null_padding = false"
		case "strict_mode = false":
			out[i] = "strict_mode = true"
		}
	}
	return out
}

// parquetOptions is how every delimited-text conversion writes its Parquet file. DuckDB's default
// row groups (122,880 rows): 61,440 and 30,720 were measured for the peak memory of the 1 GB
// bench file's conversion and made no reliable difference (VmHWM in single runs, memory_limit
// 384MB: 61,440 rows 318-397 MB, 30,720 rows 362 MB, the default 338-361 MB).
const parquetOptions = "(FORMAT parquet, COMPRESSION zstd)"

func (j *job) sortCoercions(plans []*plan) {
	pos := map[string]int{}
	for i, p := range plans {
		pos[p.name] = i
	}
	sort.SliceStable(j.rules.Coercions, func(a, b int) bool {
		return pos[j.rules.Coercions[a].Column] < pos[j.rules.Coercions[b].Column]
	})
}

func outColumns(plans []*plan, header bool) []*datasetsv1.Column {
	cols := make([]*datasetsv1.Column, len(plans))
	for i, p := range plans {
		cols[i] = &datasetsv1.Column{Name: p.name}
		if p.name != p.orig && header {
			cols[i].OriginalName = p.orig
		}
	}
	return cols
}

// buildPlans names the raw (all-text) columns from the header, warning about blank and extra names.
func (j *job) buildPlans(rawCols []string, header bool, base, dialect []string) ([]*plan, error) {
	// Header texts as written, to report renamed columns.
	var orig []string
	if header {
		var err error
		args := append(append([]string(nil), base...), append(dialect[:4:4], "header = false", "parallel = false", "hive_partitioning = false")...)
		if slices.Contains(base, "null_padding = false") {
			// The strict reader (see delimited) refuses the ragged rows checkRejects reported.
			args = append(args, "ignore_errors = true")
		}
		orig, err = j.headerRow(args, len(rawCols))
		if err != nil {
			return nil, err
		}
	}
	plans := make([]*plan, len(rawCols))
	for i, rc := range rawCols {
		p := &plan{raw: rc}
		if header && i < len(orig) {
			p.orig = orig[i]
		}
		plans[i] = p
	}
	names := uniqueNames(origNames(plans), header)
	for i, p := range plans {
		p.name = names[i]
	}
	if header {
		j.headerWarnings(orig, names, len(rawCols))
	}
	return plans, nil
}

func origNames(plans []*plan) []string {
	out := make([]string, len(plans))
	for i, p := range plans {
		out[i] = p.orig
	}
	return out
}

// uniqueNames keeps header names, names blank ones col_N (1-based position) and suffixes
// duplicates with _2, _3, ... so that every name is unique.
func uniqueNames(orig []string, header bool) []string {
	out := make([]string, len(orig))
	used := map[string]bool{}
	for i, o := range orig {
		if header && strings.TrimSpace(o) != "" {
			used[o] = true
		}
		_ = i
	}
	taken := map[string]bool{}
	for i, o := range orig {
		name := o
		if !header || strings.TrimSpace(o) == "" {
			name = "col_" + strconv.Itoa(i+1)
		}
		if taken[name] || (name != o && used[name]) {
			base := name
			for k := 2; ; k++ {
				cand := base + "_" + strconv.Itoa(k)
				if !taken[cand] && !used[cand] {
					name = cand
					break
				}
			}
		}
		taken[name] = true
		out[i] = name
	}
	return out
}

// tableColumns is the names of table's columns in order (from an empty result's header: a query of
// duckdb_columns() costs about 30 ms, for it lists the whole catalog).
func (j *job) tableColumns(table string) ([]string, error) {
	rows, err := j.conn.SQL().QueryContext(j.ctx, "SELECT * FROM "+duck.Ident(table)+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	return cols, rows.Close()
}

// strings runs a query of one text column and returns its values in order.
func (j *job) strings(q string, args ...any) ([]string, error) {
	rows, err := j.conn.SQL().QueryContext(j.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (j *job) headerRow(args []string, n int) ([]string, error) {
	rows, err := j.conn.SQL().QueryContext(j.ctx, "SELECT * FROM read_csv("+j.csvArgs(args...)+") LIMIT 1")
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	if rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i := 0; i < len(vals) && i < n; i++ {
			out = append(out, vals[i].String)
		}
	}
	// Trailing blank header cells are the same as missing ones.
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1]
	}
	return out, rows.Err()
}

// checkRejects reports the rows the full read rejected: a line over the line size limit fails with
// ErrTooLarge; other malformed rows are skipped with a warning when they are at most 1% of the
// rows, and fail with ErrCorrupt otherwise.
func (j *job) checkRejects(total int64, header bool, delim string) error {
	// The first line's text too (bounded), to count its fields: DuckDB's "Found" for a line with too
	// many fields is one more than expected, however many it has.
	rows, err := j.conn.SQL().QueryContext(j.ctx, `SELECT error_type::VARCHAR, count(DISTINCT line), min(line), arg_min(error_message, line),
		arg_min(left(coalesce(csv_line, ''), `+strconv.Itoa(maxCountedLine+1)+`), line)
		FROM reject_errors GROUP BY ALL ORDER BY 3`)
	if err != nil {
		return fmt.Errorf("read rejected rows: %w", err)
	}
	defer rows.Close()
	var bad int64
	var parts, types []string
	var tooLong error
	for rows.Next() {
		var typ, msg, text string
		var n, line int64
		if err := rows.Scan(&typ, &n, &line, &msg, &text); err != nil {
			return err
		}
		if typ == rejectLineSizeType {
			// A line over the limit is refused whatever the share of such lines: skipping it would
			// lose a row silently, and the fix is a setting, not the data.
			if tooLong == nil {
				tooLong = j.rejectLineSize(n, line, msg)
			}
			continue
		}
		bad += n
		types = append(types, typ)
		parts = append(parts, fmt.Sprintf("%s (%d such line(s))", rejectReason(typ, line, msg, header, countFields(text, delim, j.rules.Quote)), n))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if tooLong != nil {
		return tooLong
	}
	if bad == 0 {
		return nil
	}
	if bad*100 > total+bad {
		return fmt.Errorf("%w: %d of %d rows cannot be parsed with the detected dialect: %s; %s", ErrCorrupt, bad, total+bad, strings.Join(parts, "; "), rejectFix(types, delim, header))
	}
	j.droppedRows = bad
	j.warn("skipped %d malformed row(s): %s", bad, strings.Join(parts, "; "))
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// cleanErr keeps the first line of a DuckDB error.
func cleanErr(err error) string { return firstLine(err.Error()) }
