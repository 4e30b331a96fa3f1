//go:build duckdb_arrow

package ingest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/vdsproject/vds/libs/duck"
)

// TestMacros pins the cell rules of the SQL macros, including the cheap pre-checks in front of the
// regular expressions: padded placeholders (spaces, tabs, no-break spaces), long cells, case
// variants and Unicode case folds must read as before.
func TestMacros(t *testing.T) {
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{Threads: 1, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := createMacros(ctx, c, []string{"sans objet"}); err != nil {
		t.Fatal(err)
	}
	nbsp := "\u00a0"
	for _, tc := range []struct {
		expr, in string
		want     string // the result as text; "<null>" for NULL
	}{
		{"vds_miss_text", "NA", "true"},
		{"vds_miss_text", "   NA   ", "true"},
		{"vds_miss_text", "\tN/A\t\t\t\t", "true"},
		{"vds_miss_text", nbsp + nbsp + "NULL", "true"},
		{"vds_miss_text", "NULL" + nbsp + nbsp + nbsp, "true"},
		{"vds_miss_text", "                  ", "true"},
		{"vds_miss_text", "", "true"},
		{"vds_miss_text", "na", "false"}, // text placeholders are case-sensitive
		{"vds_miss_text", "NAN", "false"},
		{"vds_miss_text", "alpha", "false"},
		{"vds_miss_text", "x  NA", "false"},
		{"vds_miss_text", "sans objet", "true"}, // an extra null value, longer than the built-in ones
		{"vds_miss_text", "  sans objet ", "true"},
		{"vds_miss", "n/a", "true"},
		{"vds_miss", "  MISSING  ", "true"},
		{"vds_miss", "MISSING", "true"},
		{"vds_miss", "mi\u017f\u017fing", "true"}, // long s folds to s under (?i)
		{"vds_miss", "#DIV/0!", "true"},
		{"vds_miss", "\t-\t", "true"},
		{"vds_miss", "--x", "false"},
		{"vds_miss", "missing value", "false"},
		{"vds_bool", "Yes", "true"},
		{"vds_bool", "yES", "true"},
		{"vds_bool", " no ", "false"},
		{"vds_bool", "F", "false"},
		{"vds_bool", "TRUE", "true"},
		{"vds_bool", "nope", "<null>"},
		{"vds_bool", "1", "<null>"},
		{"vds_num_us", "$1,234.50", "1234.5"},
		{"vds_num_us", " 37% ", "37.0"},
		{"vds_num_us", "1,2,3", "<null>"},
		{"vds_num_us", "+-5", "-5.0"}, // as DuckDB casts it
		{"vds_num_us", "$", "<null>"},
		{"vds_num_us", "1.5e3", "1500.0"},
		{"vds_num_eu", "1.234,5 €", "1234.5"},
		{"vds_num_eu", "12,05", "12.05"},
		{"vds_num_eu", "1,234.5", "<null>"},
	} {
		var got sql.NullString
		if err := c.SQL().QueryRowContext(ctx, "SELECT "+tc.expr+"(?::VARCHAR)::VARCHAR", tc.in).Scan(&got); err != nil {
			t.Fatalf("%s(%q): %v", tc.expr, tc.in, err)
		}
		g := "<null>"
		if got.Valid {
			g = got.String
		}
		if g != tc.want {
			t.Errorf("%s(%q) = %s, want %s", tc.expr, tc.in, g, tc.want)
		}
	}
}
