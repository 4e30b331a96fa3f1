//go:build duckdb_arrow

package duck

import (
	"context"
	"testing"
)

// TestParsesAsSQL: statements of every kind parse (and none runs: the DROP leaves nothing to
// check, the parser database has no tables); English questions that start like SQL do not.
func TestParsesAsSQL(t *testing.T) {
	for text, want := range map[string]bool{
		"DROP TABLE tips; --":                                 true,
		"SELECT avg(tip) FROM tips":                           true,
		"delete from tips where tip > 5":                      true,
		"COPY tips TO 'x.csv'":                                true,
		"SET memory_limit = '1GB'":                            true,
		"select 1; drop table x":                              true,
		"Update rate set by region?":                          false,
		"Create table of average tip by day":                  false,
		"Drop table rows with missing tip?":                   false,
		"Delete from the data the outliers, then average tip": false,
		"What is the average tip by day?":                     false,
	} {
		got, err := ParsesAsSQL(context.Background(), text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got != want {
			t.Errorf("ParsesAsSQL(%q) = %v, want %v", text, got, want)
		}
	}
}
