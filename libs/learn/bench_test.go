package learn

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmark drivers below run only from bench/ml/run.sh, which sets VDS_BENCH_ML_WORK to a work
// folder prepared by bench/ml/peers.py (tasks, CSV files and the shared fold assignment).

type benchTask struct {
	Name, CSV, Target, Task, Folds string
	Exclude                        []string
}

func readFolds(t *testing.T, path string) []int {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []int
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		v, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestBenchAutoMLOuterCV scores vds AutoML with 5 outer folds per task: AutoML (its own inner CV,
// search and refit) runs on each outer training part within the budget and is scored on the part
// held out, with the folds the Python peers use.
func TestBenchAutoMLOuterCV(t *testing.T) {
	work := os.Getenv("VDS_BENCH_ML_WORK")
	if work == "" {
		t.Skip("run through bench/ml/run.sh")
	}
	budget, _ := strconv.ParseFloat(os.Getenv("VDS_BENCH_ML_BUDGET"), 64)
	if budget <= 0 {
		budget = 60
	}
	var tasks []benchTask
	b, err := os.ReadFile(filepath.Join(work, "tasks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tasks); err != nil {
		t.Fatal(err)
	}
	only := os.Getenv("VDS_BENCH_ML_TASKS")
	out := map[string]any{"_meta": map[string]any{"budget": budget}}
	for _, bt := range tasks {
		if only != "" && !strings.Contains(","+only+",", ","+bt.Name+",") {
			continue
		}
		f := readCSV(t, bt.CSV)
		fold := readFolds(t, bt.Folds)
		exclude := kbSameSource(bt.Name)
		task, _ := ParseTask(bt.Task)
		var scores []float64
		best := ""
		t0 := time.Now()
		for k := 0; k < 5; k++ {
			var tr, te []int
			for i, fk := range fold {
				switch {
				case fk == k:
					te = append(te, i)
				case fk >= 0:
					tr = append(tr, i)
				}
			}
			r, err := AutoML(context.Background(), subFrame(f, tr), Options{Target: bt.Target, Task: task, Budget: time.Duration(budget * float64(time.Second)), Seed: int64(k + 1), Exclude: bt.Exclude, kbExclude: exclude})
			if err != nil {
				t.Fatalf("%s fold %d: %v", bt.Name, k, err)
			}
			if k == 0 {
				best = r.Best.Algorithm() + " (" + r.Best.Config() + ")"
			}
			tf := subFrame(f, te)
			p, err := r.Best.Predict(tf)
			if err != nil {
				t.Fatal(err)
			}
			tc := tf.Col(bt.Target)
			var s float64
			switch task {
			case TaskBinary:
				y := make([]float64, tf.Rows)
				for i := range y {
					lab, _ := strAt(tc, i)
					if lab == r.Best.PositiveClass() {
						y[i] = 1
					}
				}
				s = ROCAUC(y, p.Value)
			case TaskMulticlass:
				idx := map[string]int{}
				for ci, c := range p.Classes {
					idx[c] = ci
				}
				for i := 0; i < tf.Rows; i++ {
					lab, _ := strAt(tc, i)
					pr := 1e-15
					if ci, ok := idx[lab]; ok {
						pr = math.Max(p.Proba[i][ci], 1e-15)
					}
					s -= math.Log(pr) / float64(tf.Rows)
				}
			default:
				y := make([]float64, tf.Rows)
				for i := range y {
					y[i] = tc.F[i]
				}
				s = RMSE(y, p.Value)
			}
			scores = append(scores, s)
		}
		m, sd := meanStd(scores)
		sd *= math.Sqrt(4.0 / 5.0) // population std, as numpy's default in the peers
		t.Logf("%-14s vds %.4f ± %.4f (%.0fs) best %s", bt.Name, m, sd, time.Since(t0).Seconds(), best)
		out[bt.Name] = map[string]any{"mean": m, "std": sd, "folds": scores, "seconds": time.Since(t0).Seconds(), "best": best}
		// written after every task, so that an interrupted run keeps what it finished
		b, _ = json.MarshalIndent(out, "", " ")
		if err := os.WriteFile(filepath.Join(work, "vds.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, _ = json.MarshalIndent(out, "", " ")
	if err := os.WriteFile(filepath.Join(work, "vds.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kbSameSource names the knowledge-base entries built from the same file as the entry called name
// (the task itself and other targets of its table): a benchmark task must not warm-start from them.
func kbSameSource(name string) []string {
	out := []string{name}
	src := ""
	for _, e := range builtinKB().Entries {
		if e.Name == name {
			src = e.Source
		}
	}
	for _, e := range builtinKB().Entries {
		if src != "" && e.Source == src && e.Name != name {
			out = append(out, e.Name)
		}
	}
	return out
}

// TestBenchGBDTSpeed trains the boosting learner alone with XGBoost's settings (200 trees, depth 6,
// learning rate 0.1, lambda 1, no subsampling) on the prepared 100k x 20 make_classification data
// and reports its fit time and holdout AUC.
func TestBenchGBDTSpeed(t *testing.T) {
	work := os.Getenv("VDS_BENCH_ML_WORK")
	if work == "" {
		t.Skip("run through bench/ml/run.sh")
	}
	f := readCSV(t, filepath.Join(work, "speed.csv"))
	split := f.Col("split")
	var tr, te []int
	for i, v := range split.F {
		if v == 0 {
			tr = append(tr, i)
		} else {
			te = append(te, i)
		}
	}
	var feats []string
	for _, c := range f.Columns {
		if strings.HasPrefix(c.Name, "x") {
			feats = append(feats, c.Name)
		}
	}
	pp := fitPrep(f, feats, tr, prepTree)
	xtr, xte := transform(pp, f, tr), transform(pp, f, te)
	y := make([]float64, len(tr))
	for i, r := range tr {
		y[i] = f.Col("y").F[r]
	}
	yte := make([]float64, len(te))
	for i, r := range te {
		yte[i] = f.Col("y").F[r]
	}
	prm := gbdtParams{LearningRate: 0.1, MaxLeaves: 64, MaxDepth: 6, MinChildWeight: 1, MinSamplesLeaf: 1, Lambda: 1, Subsample: 1, Colsample: 1, MaxRounds: 200}
	t0, c0 := time.Now(), cpuTime()
	ens, _, err := gbdtFit(context.Background(), TaskBinary, xtr, y, nil, 2, prm, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	secs, cpu := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
	sc := treeScores(ens, xte)
	auc := ROCAUC(yte, sc[0])
	t.Logf("vds gbdt 200 trees depth 6: %.2fs wall, %.2fs CPU, holdout AUC %.4f", secs, cpu, auc)
	b, _ := json.Marshal(map[string]any{"seconds": secs, "cpu_seconds": cpu, "auc": auc, "trees": len(ens.Trees)})
	if err := os.WriteFile(filepath.Join(work, "vds_speed.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
