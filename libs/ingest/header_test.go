//go:build duckdb_arrow

package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeaderWarnings: how header names became column names is reported with the right counts and
// lines, on the sample path and on the full check: a name repeated three times, a header line
// ending with a delimiter over rows that leave that field empty, and one whose unnamed last field
// has a value in one row only, after a quoted field spanning two lines (so the line is not the
// row number plus one).
func TestHeaderWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, body string
		cols       string
		warnings   []string
	}{
		{"thrice", "a,a,b,a\n" + strings.Repeat("1,2,3,4\n", 30), "a,a_2,b,a_3",
			[]string{`column name "a" appears 3 times (columns 1, 2 and 4); the later ones are read as a_2 and a_3`}},
		{"trailing", "a,b,\n" + strings.Repeat("1,2,\n", 30), "a,b,col_3",
			[]string{"column 3 has no header name (the header line ends with a delimiter); named col_3", "col_3 (no header name) is empty in every row"}},
		{"sparse", "a,b,c,\n\"x\ny\",2,3,\n" + strings.Repeat("1,2,3,\n", 30) + "1,2,3,4\n" + strings.Repeat("1,2,3,\n", 30), "a,b,c,col_4",
			[]string{"column 4 has no header name (the header line ends with a delimiter); named col_4",
				"col_4 (no header name) has a value in only 1 of 62 rows, first at line 34: check those rows for an extra field or a stray delimiter"}},
	}
	for _, c := range cases {
		src := filepath.Join(dir, c.name+".csv")
		if err := os.WriteFile(src, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, full := range []bool{false, true} {
			res, err := Convert(context.Background(), src, filepath.Join(t.TempDir(), "out.parquet"), Options{Threads: 1, fullCheck: full})
			if err != nil {
				t.Fatalf("%s (full check %v): %v", c.name, full, err)
			}
			if got := strings.Join(names(res), ","); got != c.cols {
				t.Errorf("%s (full check %v): columns %s, want %s", c.name, full, got, c.cols)
			}
			if got, want := strings.Join(res.Warnings, "\n"), strings.Join(c.warnings, "\n"); got != want {
				t.Errorf("%s (full check %v): warnings\n%s\nwant\n%s", c.name, full, got, want)
			}
		}
	}
}

// TestHeaderWarningsExtraFields: columns beyond the header's own fields are reported with the
// header's field count as written (not the count of its non-blank names).
func TestHeaderWarningsExtraFields(t *testing.T) {
	t.Parallel()
	j := &job{layout: headLayout{fields: 4, trailingDelim: true}}
	orig := []string{"a", "", "b"} // "a,,b," : a blank 2nd name, a blank 4th (trailing) one
	names := uniqueNames(append(orig, "", "", ""), true)
	j.headerWarnings(orig, names, 6)
	want := []string{
		"column 2 has no header name; named col_2",
		"column 4 has no header name (the header line ends with a delimiter); named col_4",
		"the header has 4 fields but some rows have up to 6; the extra column(s) are named col_5 to col_6",
	}
	if got := strings.Join(j.warnings, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("warnings\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if got := j.unnamedTail; len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Errorf("unnamed tail %v, want [3 4 5]", got)
	}
}
