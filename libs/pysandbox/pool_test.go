package pysandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPoolUsesEachSandboxOnce checks that consecutive executions get distinct, fresh interpreters:
// state left by one (a global, a file in /tmp) is not visible to the next.
func TestPoolUsesEachSandboxOnce(t *testing.T) {
	s := testSandbox(t)
	p := NewPool(s, 2, "")
	defer p.Close()
	waitIdle(t, p, "", 2)
	var pids []string
	for i := 0; i < 3; i++ {
		code := `import os, builtins
print(os.path.exists("/tmp/mark"), hasattr(builtins, "mark"), os.getpid() > 0)
open("/tmp/mark", "w").write("x"); builtins.mark = 1`
		var out strings.Builder
		res, err := p.Run(context.Background(), "", Job{Code: code, Stdout: func(b []byte) { out.Write(b) }})
		if err != nil || res.Outcome != OK {
			t.Fatalf("run %d: %v %+v", i, err, res)
		}
		if out.String() != "False False True\n" {
			t.Errorf("run %d saw state of an earlier run: %q", i, out.String())
		}
		if i < 2 && !res.Warm {
			t.Errorf("run %d did not use a warm sandbox", i)
		}
		pids = append(pids, out.String())
	}
}

func waitIdle(t *testing.T, p *Pool, profile string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		k := len(p.idle[profile])
		p.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the pool did not warm %d sandboxes of profile %q", n, profile)
}

// TestBenchmark measures start-to-first-output over 200 runs, side by side with the bare
// interpreter and bare bubblewrap, and writes bench/results/sandbox.md. It runs only when
// VDS_SANDBOX_BENCH names the results file (bench/sandbox/run.sh sets it).
func TestBenchmark(t *testing.T) {
	outFile := os.Getenv("VDS_SANDBOX_BENCH")
	if outFile == "" {
		t.Skip("set VDS_SANDBOX_BENCH=results-file to run the sandbox benchmark")
	}
	n := 200
	s := testSandbox(t)
	csv := filepath.Join(t.TempDir(), "t.csv")
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "%d,%d.5,k%d\n", i, i%97, i%13)
	}
	os.WriteFile(csv, []byte(b.String()), 0o644)

	firstOut := func(run func(func([]byte)) error) time.Duration {
		start := time.Now()
		var once sync.Once
		var d time.Duration
		if err := run(func([]byte) { once.Do(func() { d = time.Since(start) }) }); err != nil {
			t.Fatal(err)
		}
		return d
	}
	bare := func(name string, args ...string) func(func([]byte)) error {
		return func(sink func([]byte)) error {
			cmd := exec.Command(name, args...)
			cmd.Env = []string{"OMP_NUM_THREADS=1"}
			out, err := cmd.StdoutPipe()
			if err != nil {
				return err
			}
			if err := cmd.Start(); err != nil {
				return err
			}
			buf := make([]byte, 64)
			if k, _ := out.Read(buf); k > 0 {
				sink(buf[:k])
			}
			return cmd.Wait()
		}
	}
	pool := NewPool(s, 2, "", "pandas")
	defer pool.Close()
	pooled := func(profile, code string, inputs []Input) func(func([]byte)) error {
		return func(sink func([]byte)) error {
			res, err := pool.Run(context.Background(), profile, Job{Code: code, Inputs: inputs, Stdout: sink})
			if err == nil && (res.Outcome != OK || !res.Warm) {
				err = fmt.Errorf("outcome %s warm=%v: %s", res.Outcome, res.Warm, res.Message)
			}
			return err
		}
	}
	fresh := func(code string) func(func([]byte)) error {
		return func(sink func([]byte)) error {
			res, err := s.Run(context.Background(), Job{Code: code, Stdout: sink})
			if err == nil && res.Outcome != OK {
				err = fmt.Errorf("outcome %s: %s", res.Outcome, res.Message)
			}
			return err
		}
	}
	bw := []string{"--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--ro-bind", "/etc/alternatives", "/etc/alternatives",
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"}
	describe := "import vds\nprint(vds.load('t').describe())"
	inputs := []Input{{Alias: "t", Name: "t.csv", Path: csv}}
	type row struct {
		name string
		run  func(func([]byte)) error
		wait string // pool profile to let refill between runs
		n    int
	}
	rows := []row{
		{"python3 -c print(1), bare", bare("/usr/bin/python3", "-c", "print(1)"), "", n},
		{"python3 -c print(1), bare bubblewrap", bare(s.cfg.Bwrap, append(bw, "/usr/bin/python3", "-c", "print(1)")...), "", n},
		{"print(1), vds sandbox, cold (no pool)", fresh("print(1)"), "", n},
		{"print(1), vds sandbox, warm pool", pooled("", "print(1)", nil), "-", n},
		{"python3: import pandas; read 10k-row CSV; describe(), bare", bare("/usr/bin/python3", "-c", "import pandas as pd; print(pd.read_csv('"+csv+"').describe())"), "", 30},
		{"describe() of a 10k-row table, vds sandbox, pandas pre-imported (warm pool)", pooled("pandas", describe, inputs), "pandas", 100},
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Sandbox start-up latency\n\nTime from submitting code to its first byte of stdout. Machine: %s, %d CPUs, %s/%s, load average at the end %s (other work shares this machine). Command: `bench/sandbox/run.sh`. Generated %s.\n\n",
		hostname(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadAvg(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	md.WriteString("| case | runs | p50 ms | p95 ms | p50 vs bare print(1) |\n|---|---:|---:|---:|---:|\n")
	var base float64
	for _, r := range rows {
		var ds []time.Duration
		for i := 0; i < r.n; i++ {
			if r.wait != "" {
				prof := r.wait
				if prof == "-" {
					prof = ""
				}
				waitIdle(t, pool, prof, 1)
			}
			ds = append(ds, firstOut(r.run))
		}
		slices.Sort(ds)
		p50 := float64(ds[len(ds)/2].Microseconds()) / 1000
		p95 := float64(ds[len(ds)*95/100].Microseconds()) / 1000
		if base == 0 {
			base = p50
		}
		fmt.Fprintf(&md, "| %s | %d | %.1f | %.1f | %.2fx |\n", r.name, r.n, p50, p95, p50/base)
		t.Logf("%s: p50 %.1f ms p95 %.1f ms", r.name, p50, p95)
	}
	md.WriteString("\nWarm-pool rows wait until a pre-started sandbox is idle before each run (each sandbox serves one execution), so they measure latency, not throughput. Peers run with OMP_NUM_THREADS=1.\n")
	if err := os.WriteFile(outFile, []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostname() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
			}
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
