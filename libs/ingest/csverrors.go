package ingest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
func rejectReason(typ string, line int64, msg string, header bool) string {
	if m := reColumns.FindStringSubmatch(msg); m != nil {
		first := "the header has"
		if !header {
			first = "the first rows have"
		}
		return fmt.Sprintf("line %d has %s fields, %s %s", line, m[2], first, m[1])
	}
	return fmt.Sprintf("line %d: %s (%s)", line, strings.ToLower(typ), firstLine(msg))
}

// rejectFix is what to try about rejected rows of the given DuckDB error types.
func rejectFix(types []string, delim string) string {
	for _, t := range types {
		if t == "TOO MANY COLUMNS" || t == "MISSING COLUMNS" {
			return fmt.Sprintf("to fix: give every line the same number of fields as the header (quote a value that contains the delimiter %q, "+
				"or add header names for the extra fields), or set the delimiter option if %q is not the delimiter", delim, delim)
		}
	}
	return "to fix: correct those lines, or set the delimiter, quote or encoding option if the detected one is wrong"
}
