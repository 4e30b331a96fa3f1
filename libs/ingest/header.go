package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
)

// headLayout is what a plain parse of the file's first bytes (sniffBytes) says about its header
// line and first data rows, for the warnings about header names: DuckDB gives a blank header cell
// and a field the header does not have alike as NULL, and names no lines.
type headLayout struct {
	// fields is the header line's field count; 0 when unknown (a dialect this parse does not
	// follow, or a header longer than the bytes read).
	fields int
	// trailingDelim: the header line ends with the delimiter (its last field is blank).
	trailingDelim bool
	// rowLines[r] is the line on which data row r+1 starts, for the rows wholly in the bytes read.
	rowLines []int
}

// readHeadLayout parses the header line and the data rows in the first bytes of j.src (UTF-8 by
// now) with the sniffed dialect. It is best effort: any doubt leaves the layout empty.
func (j *job) readHeadLayout(delim, quote, escape string, skip int64) headLayout {
	var lay headLayout
	if plainCSV(nil, delim, quote, escape) == nil {
		return lay
	}
	head, err := readHead(j.src, sniffBytes)
	if err != nil {
		return lay
	}
	st, err := os.Stat(j.src)
	whole := err == nil && st.Size() == int64(len(head))
	line := 1
	for ; skip > 0; skip-- {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			return lay
		}
		head = head[i+1:]
		line++
	}
	r := plainCSV(bytes.NewReader(head), delim, quote, escape)
	r.ReuseRecord = true
	for k := 0; ; k++ {
		start := r.InputOffset()
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		end := r.InputOffset()
		if err != nil || (!whole && end >= int64(len(head))) {
			break // a record cut by the end of the bytes read, or one this parse cannot follow
		}
		recLine, _ := r.FieldPos(0)
		if k == 0 {
			lay.fields = len(rec)
			raw := strings.TrimRight(string(head[start:end]), "\r\n")
			lay.trailingDelim = len(rec) > 1 && strings.HasSuffix(raw, delim)
			continue
		}
		lay.rowLines = append(lay.rowLines, line-1+recLine)
	}
	return lay
}

// headerWarnings reports how the header's names became column names: blank names, repeated names,
// and fields the header does not have. orig holds the header's names (trailing blank ones
// removed), names the unique column names, n the number of columns read. It records the unnamed
// columns after the header's last name (j.unnamedTail) for reportUnnamedTail.
func (j *job) headerWarnings(orig, names []string, n int) {
	lay := j.layout
	if lay.fields < len(orig) || lay.fields > n {
		lay = headLayout{} // the plain parse read the header otherwise than DuckDB: say nothing from it
	}
	j.unnamedTail = j.unnamedTail[:0]
	seen := map[string][]int{}
	for i, o := range orig {
		if strings.TrimSpace(o) != "" {
			seen[o] = append(seen[o], i)
		}
	}
	extra := 0 // columns beyond the header's fields
	for i := 0; i < n; i++ {
		o := ""
		if i < len(orig) {
			o = orig[i]
		}
		if i >= len(orig) {
			j.unnamedTail = append(j.unnamedTail, i)
		}
		if lay.fields > 0 && i >= lay.fields {
			extra++
			continue
		}
		if strings.TrimSpace(o) == "" {
			why := ""
			if lay.trailingDelim && i == lay.fields-1 {
				why = " (the header line ends with a delimiter)"
			}
			j.warn("column %d has no header name%s; named %s", i+1, why, names[i])
			continue
		}
		if at := seen[o]; len(at) > 1 && at[0] == i {
			cols := make([]string, len(at))
			later := make([]string, 0, len(at)-1)
			for k, c := range at {
				cols[k] = strconv.Itoa(c + 1)
				if k > 0 {
					later = append(later, names[c])
				}
			}
			if len(at) == 2 {
				j.warn("column name %q appears twice (columns %s and %s); the second is read as %s", o, cols[0], cols[1], later[0])
			} else {
				j.warn("column name %q appears %d times (columns %s); the later ones are read as %s", o, len(at), andList(cols), andList(later))
			}
		}
	}
	if extra > 0 {
		named := names[n-extra]
		if extra > 1 {
			named = names[n-extra] + " to " + names[n-1]
		}
		j.warn("the header has %d fields but some rows have up to %d; the extra column(s) are named %s", lay.fields, n, named)
	}
}

// andList joins items as "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// maxTailReports bounds the unnamed trailing columns reportUnnamedTail looks at.
const maxTailReports = 20

// reportUnnamedTail says, for each column after the header's last name, in how many rows it has a
// value and where the first is: such a column usually holds the extra field of a few ragged rows
// (or nothing but a trailing delimiter's empty field), which the user should see.
func (j *job) reportUnnamedTail(cols []*datasetsv1.Column, rows int64) error {
	var idx []int
	for _, i := range j.unnamedTail {
		if i < len(cols) && len(idx) < maxTailReports {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 || rows == 0 {
		return nil
	}
	var aggs []string
	var sparse []int
	for _, i := range idx {
		present := rows - cols[i].MissingCount
		switch {
		case present == 0:
			j.warn("%s (no header name) is empty in every row", cols[i].Name)
		case present < rows:
			sparse = append(sparse, i)
			aggs = append(aggs, "min(file_row_number) FILTER (WHERE "+duck.Ident(cols[i].Name)+" IS NOT NULL)")
		}
	}
	if len(sparse) == 0 {
		return nil
	}
	first := make([]any, len(sparse))
	vals := make([]int64, len(sparse))
	for k := range vals {
		first[k] = &vals[k]
	}
	q := "SELECT " + strings.Join(aggs, ", ") + " FROM " + duck.ParquetScan(j.tmpParquet(), "file_row_number = true")
	if err := j.conn.SQL().QueryRowContext(j.ctx, q).Scan(first...); err != nil {
		return fmt.Errorf("column statistics: %w", err)
	}
	for k, i := range sparse {
		where := ""
		switch r := vals[k]; {
		case j.droppedRows > 0: // skipped rows make the row numbers differ from the file's
		case r < int64(len(j.layout.rowLines)):
			where = fmt.Sprintf(", first at line %d", j.layout.rowLines[r])
		default:
			where = fmt.Sprintf(", first in data row %d", r+1)
		}
		j.warn("%s (no header name) has a value in only %d of %d rows%s: check those rows for an extra field or a stray delimiter",
			cols[i].Name, rows-cols[i].MissingCount, rows, where)
	}
	return nil
}
