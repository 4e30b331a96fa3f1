// Package ducktest holds what the SQL benchmarks share (libs/duck's TestBenchmarkSQLEngine and
// the sandbox service's TestBenchmarkSQL): the 1,000,000-row data set, its group-by query, the
// DuckDB-alone baseline they compare with, and the machine's load. It is for tests only.
package ducktest

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"
)

// Rows is the number of rows WriteParquet writes, Groups the number of rows Query returns.
const (
	Rows   = 1_000_000
	Groups = 100
)

// Query is the benchmarks' group-by over the table t (4 columns, Groups groups).
const Query = "SELECT grp, count(*) AS n, avg(x) AS mx, sum(y) AS sy FROM t GROUP BY grp ORDER BY grp"

// WriteParquet writes the benchmark data set to path with db (a DuckDB database): Rows rows of
// id, grp (Groups values), x (in [0, 1)) and y (integers below 1000), the same on every run.
func WriteParquet(db *sql.DB, path string) error {
	_, err := db.Exec(fmt.Sprintf(`COPY (SELECT range AS id, range %% %d AS grp, (range * 7919 %% 10007) / 10007.0 AS x, range * 13 %% 1000 AS y
		FROM range(%d)) TO %s (FORMAT parquet)`, Groups, Rows, literal(path)))
	return err
}

// Alone runs Query with db (DuckDB alone) straight over the Parquet file at path, reading every
// value as the sandboxed engine materializes its result, and returns the wall time. It fails
// unless Groups rows came back.
func Alone(db *sql.DB, path string) (time.Duration, error) {
	start := time.Now()
	rows, err := db.Query(strings.Replace(Query, "FROM t", "FROM read_parquet("+literal(path)+")", 1))
	if err != nil {
		return 0, err
	}
	n := 0
	var grp, cnt, mx, sy any
	for rows.Next() {
		if err := rows.Scan(&grp, &cnt, &mx, &sy); err != nil {
			rows.Close()
			return 0, err
		}
		n++
	}
	err = rows.Err()
	rows.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if n != Groups {
		return d, fmt.Errorf("%d rows, want %d", n, Groups)
	}
	return d, nil
}

// LoadAverage is the machine's load averages over 1, 5 and 15 minutes, or "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// literal quotes s as a SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
