// Command ingestbench is the Go side of bench/ingest: it generates a mixed-type CSV, converts it
// with vds's ingest.Convert, or converts it with DuckDB's own COPY (the physical-limit peer), and
// prints one JSON line with the wall time, the rows and the process's peak resident memory.
//
//	ingestbench gen -mb 100 -out /tmp/x.csv
//	ingestbench vds -threads 2 -memory 1GB /tmp/x.csv /tmp/x.parquet
//	ingestbench duckdb -threads 2 -memory 1GB /tmp/x.csv /tmp/x.parquet
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/ingest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ingestbench gen|vds|duckdb [flags] ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	mb := fs.Int("mb", 100, "gen: size of the CSV in MiB")
	out := fs.String("out", "", "gen: output path")
	threads := fs.Int("threads", 2, "DuckDB threads")
	mem := fs.String("memory", "1GB", "DuckDB memory limit")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(*out, *mb)
	case "vds", "duckdb":
		if fs.NArg() != 2 {
			err = fmt.Errorf("%s needs SRC.csv DST.parquet", os.Args[1])
			break
		}
		err = convert(os.Args[1], fs.Arg(0), fs.Arg(1), *threads, *mem)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

// gen writes about mb MiB of CSV: integers, decimals with some NA, categories, yes/no, ISO
// timestamps, money strings with thousands separators, leading-zero codes and free text.
func gen(path string, mb int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
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
			1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), 1+r.IntN(999), r.IntN(1000), r.IntN(100),
			r.IntN(100000), r.IntN(1000))
		if err != nil {
			return err
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func convert(mode, src, dst string, threads int, mem string) error {
	ctx := context.Background()
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), cpuSeconds()
	var rows int64
	switch mode {
	case "vds":
		opts := ingest.Options{Threads: threads, MemoryLimit: mem}
		if os.Getenv("INGESTBENCH_TRACE") != "" { // stage timings (wall and CPU) and the peak RSS so far on stderr
			last, lastMsg, lastCPU := time.Now(), "start", cpuSeconds()
			opts.Progress = func(frac float64, msg string) {
				fmt.Fprintf(os.Stderr, "%6.2fs wall %6.2fs cpu %5.0f MB peak  %s\n", time.Since(last).Seconds(), cpuSeconds()-lastCPU, peakRSSMB(), lastMsg)
				last, lastMsg, lastCPU = time.Now(), msg, cpuSeconds()
			}
		}
		res, err := ingest.Convert(ctx, src, dst, opts)
		if err != nil {
			return err
		}
		rows = res.RowCount
	case "duckdb":
		spill, err := os.MkdirTemp(filepath.Dir(dst), ".spill-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(spill)
		c, err := duck.Open(ctx, duck.Config{Threads: threads, MemoryLimit: mem, TempDir: spill, ReadPaths: []string{src}, Dirs: []string{filepath.Dir(dst)}})
		if err != nil {
			return err
		}
		defer c.Close()
		// DuckDB's own sniffing and typing, straight to zstd Parquet: the physical-limit reference.
		q := "COPY (SELECT * FROM read_csv(" + duck.Literal(src) + ")) TO " + duck.Literal(dst) + " (FORMAT parquet, COMPRESSION zstd)"
		if err := c.Exec(ctx, q); err != nil {
			return err
		}
		if err := c.SQL().QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+duck.Literal(dst)+")").Scan(&rows); err != nil {
			return err
		}
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"tool": mode, "threads": threads, "bytes": st.Size(), "rows": rows, "seconds": secs,
		"mb_per_s": float64(st.Size()) / 1e6 / secs, "peak_rss_mb": peakRSSMB(), "cpu_seconds": cpuSeconds() - cpu0,
	})
}

// peakRSSMB is the process's peak resident set size (VmHWM) in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmHWM:"), "kB")), &kb)
			return kb * 1024 / 1e6
		}
	}
	return -1
}

// cpuSeconds is the user+system CPU time of this process so far (steadier than wall time on a
// shared machine).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
