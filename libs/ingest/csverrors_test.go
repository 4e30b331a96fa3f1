//go:build duckdb_arrow

package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A ragged CSV is refused with the line, the reason and the fix; a line over the line size limit
// is refused naming the limit and the setting that raises it, and converts once it is raised.
func TestCSVErrorsNameLineAndLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("a,b,c,d\n")
	for i := 2; i <= 40; i++ {
		if i == 17 {
			b.WriteString("1,2,3,4,5\n")
		} else {
			b.WriteString("1,2,3,4\n")
		}
	}
	ragged := filepath.Join(dir, "ragged.csv")
	if err := os.WriteFile(ragged, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "bighdr.csv")
	if err := os.WriteFile(big, []byte("a,"+strings.Repeat("x", 5<<20)+"\n1,2\n3,4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		_, err := Convert(context.Background(), ragged, filepath.Join(dir, "out.parquet"), Options{fullCheck: full})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ragged (full check %v): err = %v, want ErrCorrupt", full, err)
		}
		for _, want := range []string{"1 of 39 rows", "line 17 has 5 fields, the header has 4", "to fix:", "delimiter"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ragged (full check %v): %q lacks %q", full, err, want)
			}
		}
		if full {
			t.Log(err)
		}

		_, err = Convert(context.Background(), big, filepath.Join(dir, "out.parquet"), Options{fullCheck: full})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("big header (full check %v): err = %v, want ErrTooLarge", full, err)
		}
		for _, want := range []string{"line 1 is 5242883 bytes", "limit of 2000000 bytes", "VDS_MAX_LINE_BYTES", "--max-line-bytes"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("big header (full check %v): %q lacks %q", full, err, want)
			}
		}
		if strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error quotes the long line: %.200s", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.parquet")); !os.IsNotExist(err) {
		t.Error("destination written by a refused conversion")
	}
	// One ragged row in 200 (under 1%) is skipped with a warning naming it; the others are kept.
	b.Reset()
	b.WriteString("a,b,c,d\n")
	for i := 2; i <= 201; i++ {
		if i == 150 {
			b.WriteString("1,2,3,4,5\n")
		} else {
			b.WriteString("1,2,3,4\n")
		}
	}
	few := filepath.Join(dir, "few.csv")
	if err := os.WriteFile(few, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	res, out := convert(t, few, Options{})
	if res.RowCount != 199 || len(res.Columns) != 4 || res.Columns[3].Name != "d" {
		t.Fatalf("one ragged row: %d rows, columns %v; want 199 rows a..d", res.RowCount, res.Columns)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "skipped 1 malformed row(s): line 150 has 5 fields, the header has 4") {
		t.Errorf("warnings %q do not name line 150", w)
	}
	if got := query(t, out, "SELECT sum(d::INT) FROM t"); got != "796" {
		t.Errorf("sum(d) = %s, want 796", got)
	}

	res, out = convert(t, big, Options{MaxLineBytes: 8 << 20})
	if res.RowCount != 2 || len(res.Columns) != 2 {
		t.Fatalf("raised limit: %d rows, %d columns; want 2, 2", res.RowCount, len(res.Columns))
	}
	if got := query(t, out, "SELECT sum(a) FROM t"); got != "4" {
		t.Errorf("sum(a) = %s, want 4", got)
	}
}

// A data line over the line size limit deep in the file (line 55,000 of 60,001, one row in 60,000:
// under the 1% of malformed rows that are skipped) fails with ErrTooLarge naming the line, its size,
// the limit and the setting, on the sample path (which falls back to the full check) and on the
// full check; it is neither skipped nor reported as a corrupt file.
func TestCSVLongDataLineIsTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, longLen := longLineCSV(t, dir, 3<<20)
	dst := filepath.Join(dir, "out.parquet")
	for _, full := range []bool{false, true} {
		res, err := Convert(context.Background(), src, dst, Options{fullCheck: full})
		if !errors.Is(err, ErrTooLarge) {
			rc := int64(-1)
			if res != nil {
				rc = res.RowCount
			}
			t.Fatalf("full check %v: err = %v (rows %d), want ErrTooLarge", full, err, rc)
		}
		if errors.Is(err, ErrCorrupt) {
			t.Errorf("full check %v: %v is also ErrCorrupt", full, err)
		}
		for _, want := range []string{
			"line " + strconv.Itoa(longLineNo) + " is " + strconv.Itoa(longLen) + " bytes",
			"limit of 2000000 bytes", "--max-line-bytes", "VDS_MAX_LINE_BYTES",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("full check %v: %q lacks %q", full, err, want)
			}
		}
		if strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error quotes the long line: %.200s", err)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Errorf("full check %v: destination written by a refused conversion", full)
		}
	}
	// With the limit raised the file converts, long row included.
	res, out := convert(t, src, Options{MaxLineBytes: 4 << 20})
	if res.RowCount != 60_000 {
		t.Errorf("raised limit: %d rows, want 60000", res.RowCount)
	}
	if got := query(t, out, "SELECT length(name) FROM t WHERE id = "+strconv.Itoa(longLineNo-1)); got != strconv.Itoa(3<<20) {
		t.Errorf("raised limit: the long cell has length %s, want %d", got, 3<<20)
	}
}

// The sample path reads with the configured line limit too: a 1.5 MB line (under DuckDB's default
// of 2,000,000 bytes) is refused under --max-line-bytes 1 MiB, and a 3 MB line converts on the
// sample path, without the full check, under 4 MiB.
func TestCSVSamplePathUsesLineLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, longLen := longLineCSV(t, dir, 1_500_000)
	for _, full := range []bool{false, true} {
		_, err := Convert(context.Background(), src, filepath.Join(dir, "out.parquet"), Options{MaxLineBytes: 1 << 20, fullCheck: full})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("full check %v: err = %v, want ErrTooLarge", full, err)
		}
		if want := "line " + strconv.Itoa(longLineNo) + " is " + strconv.Itoa(longLen) + " bytes, over the limit of 1048576 bytes"; !strings.Contains(err.Error(), want) {
			t.Errorf("full check %v: %q lacks %q", full, err, want)
		}
	}
	src, _ = longLineCSV(t, dir, 3<<20)
	res, _ := convert(t, src, Options{MaxLineBytes: 4 << 20})
	if res.RowCount != 60_000 || res.Rules.Typing != typingSample {
		t.Errorf("4 MiB limit: %d rows, typing %s (%s); want 60000 on the sample path", res.RowCount, res.Rules.Typing, res.Rules.TypingNote)
	}
}

// longLineNo is the line of longLineCSV's long cell.
const longLineNo = 55_000

// longLineCSV writes a CSV of 60,000 short rows (id,name) under a header whose line longLineNo
// has a name of cell bytes; it returns the path and that line's length without its newline (the
// size DuckDB reports for a rejected line).
func longLineCSV(t *testing.T, dir string, cell int) (string, int) {
	t.Helper()
	const rows = 60_000
	var b strings.Builder
	b.Grow(rows*12 + cell)
	b.WriteString("id,name\n")
	var longLen int
	for i := 1; i <= rows; i++ {
		// Data row i is on line i+1 (line 1 is the header).
		if i+1 == longLineNo {
			start := b.Len()
			b.WriteString(strconv.Itoa(i) + ",")
			b.WriteString(strings.Repeat("x", cell))
			longLen = b.Len() - start
			b.WriteString("\n")
			continue
		}
		b.WriteString(strconv.Itoa(i) + ",n" + strconv.Itoa(i%97) + "\n")
	}
	src := filepath.Join(dir, "long"+strconv.Itoa(cell)+".csv")
	if err := os.WriteFile(src, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return src, longLen
}

// A ragged line is reported with its own field count (DuckDB's message says one more than the
// header for a line with too many fields, however many it has), in the singular for one field,
// and a file without a header is told to match its first rows, not a header.
func TestCSVErrorsCountFields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "ragged.csv")
	if err := os.WriteFile(src, []byte("a,b,c\n1,2,3\n4,5,6,7,8,9,10\n11\n12,13,14\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	no := false
	for _, full := range []bool{false, true} {
		_, err := Convert(context.Background(), src, filepath.Join(dir, "out.parquet"), Options{fullCheck: full})
		want := "unreadable file: 2 of 4 rows cannot be parsed with the detected dialect: line 3 has 7 fields, the header has 3 (1 such line(s)); " +
			"line 4 has 1 field, the header has 3 (1 such line(s)); to fix: give every line the same number of fields as the header"
		if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("full check %v: %v\nwant it to begin %q", full, err, want)
		}
		_, err = Convert(context.Background(), src, filepath.Join(dir, "out.parquet"), Options{fullCheck: full, Header: &no})
		want = "unreadable file: 2 of 5 rows cannot be parsed with the detected dialect: line 3 has 7 fields, the first rows have 3 (1 such line(s)); " +
			"line 4 has 1 field, the first rows have 3 (1 such line(s)); to fix: give every line the same number of fields as the first rows"
		if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("no header, full check %v: %v\nwant it to begin %q", full, err, want)
		}
	}
}
