package learn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// curve is a run's best-so-far score as trials finish.
type curve struct {
	at, best []float64
	final    float64
	trials   int
}

func bestSoFar(r *Result) curve {
	higher := HigherIsBetter(r.Metric)
	entries := append([]Entry(nil), r.Leaderboard...)
	// the leaderboard is sorted by score; order by finishing time
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && entries[j].Elapsed < entries[j-1].Elapsed; j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
	c := curve{final: math.NaN(), trials: len(entries)}
	for _, e := range entries {
		if e.Algorithm == AlgoEnsemble || math.IsNaN(e.CVScore) {
			continue
		}
		if math.IsNaN(c.final) || (higher && e.CVScore > c.final) || (!higher && e.CVScore < c.final) {
			c.final = e.CVScore
		}
		c.at, c.best = append(c.at, e.Elapsed), append(c.best, c.final)
	}
	return c
}

// reach is the time at which, and the number of trials after which, the curve first meets target
// (NaN and 0 if never).
func (c curve) reach(target float64, higher bool) (float64, int) {
	for i, b := range c.best {
		if (higher && b >= target) || (!higher && b <= target) {
			return c.at[i], i + 1
		}
	}
	return math.NaN(), 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBenchWarmStart compares the cold search with the meta-learning warm start on held-out
// knowledge-base datasets: the warm run may not use any entry built from the same source file
// (leave-one-out). It reports when each run's best inner-CV score first came within 0.5% of the
// better of the two final scores. Run through bench/ml/metalearning.sh.
func TestBenchWarmStart(t *testing.T) {
	work := os.Getenv("VDS_BENCH_META_WORK")
	if work == "" {
		t.Skip("run through bench/ml/metalearning.sh")
	}
	budget, _ := strconv.ParseFloat(os.Getenv("VDS_BENCH_META_BUDGET"), 64)
	if budget <= 0 {
		budget = 120
	}
	maxTrials, _ := strconv.Atoi(os.Getenv("VDS_BENCH_META_TRIALS"))
	if maxTrials <= 0 {
		maxTrials = 8
	}
	tasks := strings.Split(os.Getenv("VDS_BENCH_META_TASKS"), ",")
	b, err := os.ReadFile(filepath.Join(work, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sets []struct {
		Name, Source, CSV, Target, Task string
		Exclude                         []string
	}
	if err := json.Unmarshal(b, &sets); err != nil {
		t.Fatal(err)
	}
	kbase := builtinKB()
	if len(kbase.Entries) == 0 {
		t.Fatal("the knowledge base is empty: run make metakb")
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("| dataset | rows | metric | target (best of both less 0.5%%) | cold: trials to target | warm: trials to target | cold: seconds to target | warm: seconds to target | cold best after %d trials | warm best after %d trials | warm-start sources |", maxTrials, maxTrials),
		"|---|---|---|---|---|---|---|---|---|---|---|")
	var sumCold, sumWarm float64
	var sumColdN, sumWarmN int
	faster, slower, ties, count := 0, 0, 0, 0
	fewer, more := 0, 0
	for _, name := range tasks {
		var ds *struct {
			Name, Source, CSV, Target, Task string
			Exclude                         []string
		}
		for i := range sets {
			if sets[i].Name == name {
				ds = &sets[i]
			}
		}
		if ds == nil {
			t.Fatalf("dataset %q is not in the manifest", name)
		}
		var exclude []string
		for _, e := range kbase.Entries {
			if e.Source == ds.Source {
				exclude = append(exclude, e.Name)
			}
		}
		f := readCSV(t, ds.CSV)
		task, _ := ParseTask(ds.Task)
		opts := Options{Target: ds.Target, Task: task, Exclude: ds.Exclude, Budget: time.Duration(budget * float64(time.Second)), Seed: 3, NoEnsemble: true, maxTrials: maxTrials}
		runtime.GC()
		opts.NoWarmStart = true
		cold, err := AutoML(context.Background(), f, opts)
		if err != nil {
			t.Fatalf("%s cold: %v", name, err)
		}
		runtime.GC()
		opts.NoWarmStart, opts.kbExclude = false, exclude
		warm, err := AutoML(context.Background(), f, opts)
		if err != nil {
			t.Fatalf("%s warm: %v", name, err)
		}
		for _, src := range warm.WarmStart {
			for _, x := range exclude {
				if src == x {
					t.Fatalf("%s warm-started from %s, built from the same data", name, src)
				}
			}
		}
		higher := HigherIsBetter(cold.Metric)
		cc, wc := bestSoFar(cold), bestSoFar(warm)
		best := math.Max(cc.final, wc.final)
		target := best - 0.005*math.Abs(best)
		if !higher {
			best = math.Min(cc.final, wc.final)
			target = best + 0.005*math.Abs(best)
		}
		tc, nc := cc.reach(target, higher)
		tw, nw := wc.reach(target, higher)
		cell := func(v float64) string {
			if math.IsNaN(v) {
				return "not reached"
			}
			return fmt.Sprintf("%.1f", v)
		}
		ncell := func(n int) string {
			if n == 0 {
				return "not reached"
			}
			return strconv.Itoa(n)
		}
		// a run that never reaches the target is charged its whole run (time, and one trial more)
		ec, ew := tc, tw
		if math.IsNaN(ec) {
			ec = cc.at[len(cc.at)-1]
		}
		if math.IsNaN(ew) {
			ew = wc.at[len(wc.at)-1]
		}
		if nc == 0 {
			nc = maxTrials + 1
		}
		if nw == 0 {
			nw = maxTrials + 1
		}
		sumCold, sumWarm = sumCold+ec, sumWarm+ew
		sumColdN, sumWarmN = sumColdN+nc, sumWarmN+nw
		count++
		switch {
		case ew < ec*0.9:
			faster++
		case ew > ec*1.1:
			slower++
		default:
			ties++
		}
		if nw < nc {
			fewer++
		} else if nw > nc {
			more++
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %s | %.4f | %s | %s | %s | %s | %.4f | %.4f | %s |", name, cold.Rows, cold.Metric, target,
			ncell(nc*boolInt(nc <= maxTrials)), ncell(nw*boolInt(nw <= maxTrials)), cell(tc), cell(tw), cc.final, wc.final, strings.Join(warm.WarmStart, ", ")))
		t.Logf("%s: cold %d trials %.1fs, warm %d trials %.1fs (target %.4f; finals %.4f / %.4f; sources %v)", name, nc, ec, nw, ew, target, cc.final, wc.final, warm.WarmStart)
	}
	summary := fmt.Sprintf("Within the first %d trials the warm start reached the target in fewer trials on %d of %d datasets and in more on %d "+
		"(mean %.1f trials cold, %.1f warm; a run that never reached it counts %d); in wall time it was more than 10%% sooner on %d, later on %d, "+
		"about the same on %d (mean %.1f s cold, %.1f s warm).",
		maxTrials, fewer, count, more, float64(sumColdN)/float64(count), float64(sumWarmN)/float64(count), maxTrials+1, faster, slower, ties, sumCold/float64(count), sumWarm/float64(count))
	t.Log(summary)
	if out := os.Getenv("VDS_BENCH_META_OUT"); out != "" {
		body := strings.Join(lines, "\n") + "\n\n" + summary + "\n"
		if err := os.WriteFile(out, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
