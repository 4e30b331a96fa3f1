package ingest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxLineBytes applies when Options.MaxLineBytes is 0 (DuckDB's own default max_line_size).
const DefaultMaxLineBytes = 2_000_000

// maxLineSetting names the setting that raises Options.MaxLineBytes, for error messages.
const maxLineSetting = "--max-line-bytes, or VDS_MAX_LINE_BYTES under vds up"

func (j *job) maxLineBytes() int64 {
	if j.opts.MaxLineBytes > 0 {
		return j.opts.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

var (
	reLineSize = regexp.MustCompile(`Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+) bytes`)
	reErrLine  = regexp.MustCompile(`CSV Error on Line: (\d+)`)
	reColumns  = regexp.MustCompile(`Expected Number of Columns: (\d+) Found: (\d+)`)
)

// explainCSV turns a DuckDB CSV error into one that names the line, the reason and the fix, when it
// recognises the error; otherwise it returns nil. what says which step failed.
func (j *job) explainCSV(err error, what string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := reLineSize.FindStringSubmatch(msg); m != nil {
		line := "a line"
		if l := reErrLine.FindStringSubmatch(msg); l != nil {
			line = "line " + l[1]
		}
		actual, _ := strconv.ParseInt(m[2], 10, 64)
		return j.lineSizeError(what, line, actual, 0)
	}
	return nil
}

// lineSizeError is the ErrTooLarge error for a line over the line size limit: which line (e.g.
// "line 17"), its size when known (actual > 0), the limit, how many other lines are over it too
// (more) and the setting that raises it.
func (j *job) lineSizeError(what, line string, actual, more int64) error {
	size := "is over"
	if actual > 0 {
		size = fmt.Sprintf("is %d bytes, over", actual)
	}
	others := ""
	if more > 0 {
		others = fmt.Sprintf(", and %d other line(s) are over it too", more)
	}
	return fmt.Errorf("%w: %s: %s %s the limit of %d bytes for one line (a line, or one quoted cell, must fit in it)%s; "+
		"raise the limit (%s), or check that the quote character is right if no line should be that long",
		ErrTooLarge, what, line, size, j.maxLineBytes(), others, maxLineSetting)
}

// rejectLineSize is the ErrTooLarge error for the rows reject_errors lists as over the line size
// limit (error type rejectLineSizeType): n distinct lines, the first at line, with msg its message.
func (j *job) rejectLineSize(n, line int64, msg string) error {
	var actual int64
	if m := reLineSize.FindStringSubmatch(msg); m != nil {
		actual, _ = strconv.ParseInt(m[2], 10, 64)
	}
	return j.lineSizeError("cannot read the delimited text", fmt.Sprintf("line %d", line), actual, n-1)
}

// rejectLineSizeType is DuckDB's reject_errors error type of a line over max_line_size.
const rejectLineSizeType = "LINE SIZE OVER MAXIMUM"

// csvReadError is the error of a failed read_csv: explained when recognised, else its first line.
func (j *job) csvReadError(err error, what string) error {
	if e := j.explainCSV(err, what); e != nil {
		return e
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, what, cleanErr(err))
}

// rejectReason says in words why a row was rejected, e.g. "line 17 has 5 fields, the header has 4".
// fields is the line's own field count when it could be counted (else 0): DuckDB's "Found" for a
// line with too many fields is the expected count plus one, whatever the line has.
func rejectReason(typ string, line int64, msg string, header bool, fields int) string {
	if m := reColumns.FindStringSubmatch(msg); m != nil {
		first := "the header has"
		if !header {
			first = "the first rows have"
		}
		want, _ := strconv.Atoi(m[1])
		found, _ := strconv.Atoi(m[2])
		has := plural(found, "field")
		switch {
		case fields > 0 && fields != want:
			has = plural(fields, "field")
		case typ == "TOO MANY COLUMNS" || found > want:
			has = fmt.Sprintf("more than %s", plural(want, "field"))
		}
		return fmt.Sprintf("line %d has %s, %s %d", line, has, first, want)
	}
	return fmt.Sprintf("line %d: %s (%s)", line, strings.ToLower(typ), firstLine(msg))
}

// rejectFix is what to try about rejected rows of the given DuckDB error types; header tells
// whether the file has a header line.
func rejectFix(types []string, delim string, header bool) string {
	for _, t := range types {
		if t == "TOO MANY COLUMNS" || t == "MISSING COLUMNS" {
			if !header {
				return fmt.Sprintf("to fix: give every line the same number of fields as the first rows (quote a value that contains the delimiter %q), "+
					"or set the delimiter option if %q is not the delimiter", delim, delim)
			}
			return fmt.Sprintf("to fix: give every line the same number of fields as the header (quote a value that contains the delimiter %q, "+
				"or add header names for the extra fields), or set the delimiter option if %q is not the delimiter", delim, delim)
		}
	}
	return "to fix: correct those lines, or set the delimiter, quote or encoding option if the detected one is wrong"
}

// maxCountedLine is the longest rejected line whose fields countFields counts (checkRejects reads
// one byte more, to tell a cut line).
const maxCountedLine = 1 << 16

// countFields counts the fields of one line of delimited text; 0 when it cannot tell (an empty or
// cut line, a delimiter or quote this parse does not follow, a line that does not parse).
func countFields(line, delim, quote string) int {
	if line == "" || len(line) > maxCountedLine {
		return 0
	}
	r := plainCSV(strings.NewReader(line), delim, quote, "")
	if r == nil {
		return 0
	}
	rec, err := r.Read()
	if err != nil {
		return 0
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		return 0 // more than one record: not the one line it should be
	}
	return len(rec)
}

// plural is "1 field", "2 fields".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// plainCSV is a reader of src with Go's CSV parser in the dialect given (a one-rune delimiter,
// double quotes or none), for the best-effort counts and line numbers DuckDB does not give; nil
// when Go's parser cannot follow that dialect (src may be nil to ask only that).
func plainCSV(src io.Reader, delim, quote, escape string) *csv.Reader {
	d, n := utf8.DecodeRuneInString(delim)
	if n != len(delim) || d == utf8.RuneError || d == '"' || d == '\r' || d == '\n' ||
		(quote != `"` && quote != "") || (escape != `"` && escape != "") {
		return nil
	}
	r := csv.NewReader(src)
	r.Comma = d
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	return r
}
