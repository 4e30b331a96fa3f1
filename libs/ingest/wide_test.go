//go:build duckdb_arrow

package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

// writeWide writes a CSV of cols columns (c0, c1, ...) and rows rows of small numbers.
func writeWide(t *testing.T, cols, rows int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < cols; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", i)
	}
	b.WriteByte('\n')
	for r := 0; r < rows; r++ {
		for i := 0; i < cols; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", (r+i)%10)
		}
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("wide_%d.csv", cols))
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWideFileRefusedBeforeReading: a 20,000-column x 5-row CSV (about 200 KB) used to fail with
// DuckDB's out-of-memory error while sniffing; with the service's 384MB it is refused from its
// header line, before DuckDB reads it, naming the column limit. The 2,000-column corpus file
// still converts with that limit, and a larger limit raises the maximum.
func TestWideFileRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	if got := maxColumns("384MB"); got != 2083 {
		t.Errorf("maxColumns(384MB) = %d, want 2083", got)
	}
	if got := maxColumns("1GB"); got != 5425 {
		t.Errorf("maxColumns(1GB) = %d, want 5425", got)
	}
	if got := maxColumns("80%"); got != 0 {
		t.Errorf("maxColumns(80%%) = %d, want 0 (no maximum)", got)
	}

	src := writeWide(t, 20000, 5)
	start := time.Now()
	_, err := Convert(context.Background(), src, filepath.Join(t.TempDir(), "out.parquet"), Options{Threads: 2, MemoryLimit: "384MB"})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrTooWide) {
		t.Fatalf("20,000 columns: error %v, want ErrTooWide (an ErrTooLarge)", err)
	}
	for _, want := range []string{"file too wide: the first line has 20,000 fields", "more than the 2,083 columns", "ingest limit of 384MB", "split the file", "--duckdb-memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "Out of Memory") {
		t.Errorf("error %q is DuckDB's: the refusal should come first", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %v", d)
	}
	// The same delimiter given as an option.
	_, err = Convert(context.Background(), src, filepath.Join(t.TempDir(), "out.parquet"), Options{Threads: 2, MemoryLimit: "384MB", Delimiter: ","})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("20,000 columns with delimiter ',': error %v, want ErrTooLarge", err)
	}

	res, _ := convert(t, shareddata.Path(t, "messy/very_wide_2000_cols.csv"), Options{Threads: 2, MemoryLimit: "384MB"})
	if len(res.Columns) != 2000 || res.RowCount != 50 {
		t.Errorf("2000-column corpus file at 384MB: %d columns x %d rows", len(res.Columns), res.RowCount)
	}
}

func TestFirstLineFields(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		text, delim string
		want        int
	}{
		{"a,b,c\n1,2,3\n", "", 3},
		{"a;b;c,d\n", "", 3},
		{"a\tb\tc\td\n", "", 4},
		{"\"x,y\",b\n", "", 2},
		{"\"line\nbreak\",b,c\n", "", 3},
		{"a|b,c\n", "|", 2},
		{"single\n", "", 1},
	} {
		p := filepath.Join(dir, "f.csv")
		os.WriteFile(p, []byte(c.text), 0o644)
		if got := firstLineFields(p, c.delim, 1<<20); got != c.want {
			t.Errorf("firstLineFields(%q, %q) = %d, want %d", c.text, c.delim, got, c.want)
		}
	}
}
