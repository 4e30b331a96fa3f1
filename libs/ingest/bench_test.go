//go:build duckdb_arrow

package ingest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vdsproject/vds/libs/duck"
)

// writeBenchCSV writes a CSV of about mb megabytes with typical columns: integers, decimals,
// categories, yes/no, ISO timestamps, money strings, leading-zero codes and some blanks.
func writeBenchCSV(tb testing.TB, dir string, mb int) string {
	tb.Helper()
	p := filepath.Join(dir, "bench.csv")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Fprintln(w, "id,score,price,segment,active,signup,revenue,zip,comment")
	segs := []string{"alpha", "beta", "gamma", "delta"}
	var n int64
	for i := 0; n < int64(mb)<<20; i++ {
		score := fmt.Sprintf("%.3f", r.Float64()*100)
		if i%97 == 0 {
			score = "NA"
		}
		k, err := fmt.Fprintf(w, "%d,%s,%.2f,%s,%s,2023-%02d-%02dT%02d:%02d:00,\"$%d,%03d.%02d\",%05d,note %d\n",
			i, score, r.Float64()*1000, segs[r.IntN(4)], []string{"yes", "no"}[r.IntN(2)],
			1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(999), r.IntN(1000), r.IntN(100),
			r.IntN(100000), r.IntN(1000))
		if err != nil {
			tb.Fatal(err)
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func benchMB() int {
	if os.Getenv("VDS_BENCH_MB") != "" {
		var n int
		fmt.Sscan(os.Getenv("VDS_BENCH_MB"), &n)
		return n
	}
	return 100
}

// BenchmarkConvert measures Convert on a generated CSV (VDS_BENCH_MB, default 100 MB).
func BenchmarkConvert(b *testing.B) {
	dir := b.TempDir()
	src := writeBenchCSV(b, dir, benchMB())
	st, _ := os.Stat(src)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Convert(context.Background(), src, filepath.Join(dir, "out.parquet"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(res.RowCount), "rows")
		}
	}
}

// BenchmarkDuckDBBaseline is DuckDB's own read_csv (auto-detected types) to zstd Parquet on the
// same file: the speed Convert is compared with.
func BenchmarkDuckDBBaseline(b *testing.B) {
	dir := b.TempDir()
	src := writeBenchCSV(b, dir, benchMB())
	st, _ := os.Stat(src)
	b.SetBytes(st.Size())
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := duck.Open(ctx, duck.Config{Dirs: []string{dir}})
		if err != nil {
			b.Fatal(err)
		}
		err = c.Exec(ctx, "COPY (SELECT * FROM read_csv("+duck.Literal(src)+")) TO "+duck.Literal(filepath.Join(dir, "base.parquet"))+" (FORMAT parquet, COMPRESSION zstd)")
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
