package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/causal"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// causalPlatform is one embedded platform for the causal CLI and service tests.
var causalPlatform struct {
	once sync.Once
	home string
	p    *mesh.Platform
	err  error
}

func causalMesh(t *testing.T) (home string, p *mesh.Platform) {
	t.Helper()
	causalPlatform.once.Do(func() {
		causalPlatform.home, causalPlatform.err = os.MkdirTemp("", "vds-effect-test-")
		if causalPlatform.err != nil {
			return
		}
		causalPlatform.p, causalPlatform.err = mesh.Up(context.Background(), mesh.Options{Home: causalPlatform.home,
			Log: logging.New(io.Discard, "json", "warn"), Bootstrap: true})
	})
	if causalPlatform.err != nil {
		t.Fatalf("start platform: %v", causalPlatform.err)
	}
	return causalPlatform.home, causalPlatform.p
}

func effectRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	home, p := causalMesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append(append([]string{"effect"}, args...), "--server", p.GRPCAddr, "--home", home, "--no-progress"), &out, &errb)
	return code, out.String(), errb.String()
}

type effectOut struct {
	Ate           float64          `json:"ate"`
	Interval      []float64        `json:"interval"`
	Method        string           `json:"method"`
	Estimand      string           `json:"estimand"`
	AdjustmentSet []string         `json:"adjustment_set"`
	Naive         float64          `json:"naive_difference"`
	Passed        []string         `json:"passed_checks"`
	Identified    string           `json:"identification"`
	RawBalance    []map[string]any `json:"balance"`
	Refutations   []map[string]any `json:"refutations"`
	DatasetRef    map[string]any   `json:"dataset"`
}

func TestEffectCLI(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join(dir, "lalonde.dot")
	// All pre-treatment covariates cause both treatment and earnings; the minimal back-door set is
	// all of them. "u" is not a column (latent) and only affects re78, so it does not confound.
	var b strings.Builder
	b.WriteString("digraph lalonde {\n  treat -> re78;\n  u -> re78;\n")
	for _, c := range []string{"age", "educ", "race", "married", "nodegree", "re74", "re75"} {
		fmt.Fprintf(&b, "  %s -> treat;\n  %s -> re78;\n", c, c)
	}
	b.WriteString("  re74 -> re75;\n}\n")
	if err := os.WriteFile(graph, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, e *effectOut)
	}{
		{"nsw difference in means", []string{shareddata.Path(t, "causal/nsw_experimental.csv"), "--treatment", "treat", "--outcome", "re78", "--method", "difference_in_means"},
			func(t *testing.T, e *effectOut) {
				if math.Abs(e.Ate-1794.34) > 0.01 || len(e.Interval) != 2 || e.Interval[0] >= e.Ate || e.Interval[1] <= e.Ate {
					t.Errorf("ate %v interval %v", e.Ate, e.Interval)
				}
				if len(e.Refutations) != 4 {
					t.Errorf("refutations %v", e.Refutations)
				}
			}},
		{"lalonde with a graph", []string{shareddata.Path(t, "causal/lalonde.csv"), "--treatment", "treat", "--outcome", "re78", "--graph", graph,
			"--method", "aipw", "--estimand", "att", "--squared", "age,educ"},
			func(t *testing.T, e *effectOut) {
				if e.Ate < 1200 || e.Ate > 2400 || math.Abs(e.Naive-(-635.03)) > 0.01 {
					t.Errorf("ate %v naive %v", e.Ate, e.Naive)
				}
				if len(e.AdjustmentSet) != 7 || !strings.HasPrefix(e.Identified, "Back-door criterion") {
					t.Errorf("adjustment %v identification %q", e.AdjustmentSet, e.Identified)
				}
				if len(e.RawBalance) != 8 {
					t.Errorf("balance rows %d", len(e.RawBalance))
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := effectRun(t, append(tc.args, "--format", "json")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			e := &effectOut{}
			if err := json.Unmarshal([]byte(out), e); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%.1000s", err, out)
			}
			t.Logf("%s: ate %.4f %v %s passed %v", tc.name, e.Ate, e.Interval, e.Method, e.Passed)
			tc.check(t, e)
		})
	}
	// Markdown output by dataset ID (no second upload).
	code, out, errs := effectRun(t, shareddata.Path(t, "causal/nsw_experimental.csv"), "--treatment", "treat", "--outcome", "re78", "--method", "difference_in_means", "--format", "json")
	if code != 0 {
		t.Fatal(errs)
	}
	var first effectOut
	_ = json.Unmarshal([]byte(out), &first)
	id, _ := first.DatasetRef["dataset_id"].(string)
	code, out, errs = effectRun(t, id, "--treatment", "treat", "--outcome", "re78", "--confounders", "age,educ,black", "--method", "ipw")
	if code != 0 || !strings.Contains(out, "# Effect of treat on re78") || !strings.Contains(out, "| refutation |") {
		t.Errorf("markdown by dataset ID: exit %d %s\n%s", code, errs, out)
	}
	// ds_….vN names a version, like exec and ask take it; the estimate is of that version.
	ver := fmt.Sprint(first.DatasetRef["version"])
	code, out, errs = effectRun(t, id+".v"+ver, "--treatment", "treat", "--outcome", "re78", "--method", "difference_in_means", "--format", "json")
	var byVersion effectOut
	if err := json.Unmarshal([]byte(out), &byVersion); err != nil || code != 0 || byVersion.DatasetRef["dataset_id"] != id ||
		fmt.Sprint(byVersion.DatasetRef["version"]) != ver || byVersion.Ate != first.Ate {
		t.Errorf("by %s.v%s: exit %d (%v) %s\n%s; want the estimate %v of that version", id, ver, code, err, errs, out, first.Ate)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"x.csv", "--outcome", "y"}, "--treatment is required"},
		{[]string{id, "--treatment", "treat", "--outcome", "re78", "--method", "magic"}, "unknown method"},
		{[]string{id, "--treatment", "treat", "--outcome", "nope"}, "nope"},
		{[]string{id, "--treatment", "treat", "--outcome", "re78", "--graph", filepath.Join(dir, "missing.dot")}, "cannot read the graph"},
	} {
		code, _, errs := effectRun(t, bad.args...)
		if code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", bad.args, code, errs, bad.want)
		}
	}
}

// TestCausalServiceGraphsAndChange exercises DiscoverGraph, SaveGraph/GetGraph versions, an
// estimate from a stored graph, and ExplainChange over real gRPC.
func TestCausalServiceGraphsAndChange(t *testing.T) {
	_, p := causalMesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Simulated data: z -> t -> y, z -> y, plus a period column and a plan segment.
	rng := rand.New(rand.NewPCG(8, 8))
	var b strings.Builder
	b.WriteString("z,t,y,month,plan\n")
	for i := 0; i < 3000; i++ {
		z := rng.NormFloat64()
		tt := 0
		if rng.Float64() < 1/(1+math.Exp(-1.5*z)) {
			tt = 1
		}
		y := 2*float64(tt) + 1.5*z + rng.NormFloat64()
		month := 1 + rng.IntN(12)
		plan := "annual"
		if rng.Float64() < 0.3+0.04*float64(month) {
			plan = "monthly"
		}
		fmt.Fprintf(&b, "%.5f,%d,%.5f,%d,%s\n", z, tt, y, month, plan)
	}
	file := filepath.Join(t.TempDir(), "sim.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		t.Fatal(err)
	}
	ref := &commonv1.DatasetRef{DatasetId: up.DatasetId}
	dg, err := c.Causal.DiscoverGraph(ctx, &causalv1.DiscoverGraphRequest{Dataset: ref, Columns: []string{"z", "t", "y"},
		Tiers: []*causalv1.Tier{{Columns: []string{"z"}}, {Columns: []string{"t"}}, {Columns: []string{"y"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if dg.Graph.Version != 1 || len(dg.Graph.Edges) != 3 || !strings.Contains(dg.Graph.Dot, `"z" -> "t"`) || dg.Graph.VegaSpec == "" {
		t.Fatalf("discovered %v", dg.Graph)
	}
	// Edit: drop z -> y (a wrong graph) as version 2; version 1 stays readable.
	sv, err := c.Causal.SaveGraph(ctx, &causalv1.SaveGraphRequest{Dataset: ref, GraphId: dg.Graph.Id, Text: "z -> t\nt -> y"})
	if err != nil {
		t.Fatal(err)
	}
	if sv.Graph.Version != 2 || sv.Graph.Id != dg.Graph.Id {
		t.Fatalf("saved %v", sv.Graph)
	}
	v1, err := c.Causal.GetGraph(ctx, &causalv1.GetGraphRequest{GraphId: dg.Graph.Id, Version: 1})
	if err != nil || len(v1.Graph.Edges) != 3 {
		t.Fatalf("version 1: %v %v", v1, err)
	}
	for ver, wantAdj := range map[int32]int{1: 1, 2: 0} {
		r, err := c.Causal.EstimateEffect(ctx, &causalv1.EstimateEffectRequest{Dataset: ref, Treatment: "t", Outcome: "y", Method: "aipw",
			GraphId: dg.Graph.Id, GraphVersion: ver})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitJob(ctx, r.JobId, nil); err != nil {
			t.Fatal(err)
		}
		e, err := c.Causal.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: r.EstimateId})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("graph v%d: %s %.4f adj %v", ver, e.Estimate.Method, e.Estimate.Ate, e.Estimate.AdjustmentSet)
		if len(e.Estimate.AdjustmentSet) != wantAdj {
			t.Errorf("graph v%d: adjustment %v", ver, e.Estimate.AdjustmentSet)
		}
		if ver == 1 && math.Abs(e.Estimate.Ate-2) > 0.2 {
			t.Errorf("graph v1: effect %.4f, want 2", e.Estimate.Ate)
		}
	}
	ch, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month", Segments: []string{"plan", "z"}, Split: "7"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.NBefore+ch.NAfter != 3000 || len(ch.Drivers) != 6 || len(ch.Findings) < 3 {
		t.Errorf("explain change: %v", ch)
	}
	// Driver effects (on by default): plan does not affect y, z does. Without a graph both are
	// associational; with one in which month causes plan and z causes t and y, both are causal.
	for _, gt := range []string{"", "month -> plan\nplan -> y\nz -> t\nt -> y\nz -> y"} {
		ch, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month", Segments: []string{"plan", "z"},
			Split: "7", GraphText: gt})
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.DriverEffects) != 2 {
			t.Fatalf("graph %q: %d driver effects", gt, len(ch.DriverEffects))
		}
		want := causal.LabelCausal
		if gt == "" {
			want = causal.LabelAssociational
		}
		for _, de := range ch.DriverEffects {
			e := de.Estimate
			if e == nil || de.Label != want {
				t.Errorf("graph %q, %s: label %s, error %q", gt, de.Column, de.Label, de.Error)
				continue
			}
			t.Logf("graph %q: %s %s %.4f [%.4f, %.4f] %s", gt, de.Label, de.Treatment, e.Ate, e.CiLow, e.CiHigh, e.Method)
			if de.Column == "plan" && (e.CiLow > 0 || e.CiHigh < 0) || de.Column == "z" && e.CiLow <= 0 {
				t.Errorf("graph %q, %s: effect %v [%v, %v]", gt, de.Treatment, e.Ate, e.CiLow, e.CiHigh)
			}
		}
	}
	if ch, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month", Segments: []string{"plan"},
		Split: "7", SkipDriverEffects: true}); err != nil || len(ch.DriverEffects) != 0 {
		t.Errorf("skip_driver_effects: %v, %v", err, ch)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"bad graph text", func() error {
			_, err := c.Causal.EstimateEffect(ctx, &causalv1.EstimateEffectRequest{Dataset: ref, Treatment: "t", Outcome: "y", GraphText: "t -> y\ny -> t"})
			return err
		}, codes.InvalidArgument},
		{"unknown graph", func() error {
			_, err := c.Causal.GetGraph(ctx, &causalv1.GetGraphRequest{GraphId: "grf_0123456789abcdef0123456789abcdef"})
			return err
		}, codes.NotFound},
		{"bad graph id", func() error {
			_, err := c.Causal.GetGraph(ctx, &causalv1.GetGraphRequest{GraphId: "../x"})
			return err
		}, codes.InvalidArgument},
		{"change with a bad driver method", func() error {
			_, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month", Segments: []string{"plan"}, Method: "magic"})
			return err
		}, codes.InvalidArgument},
		{"change with an unknown covariate", func() error {
			_, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month", Segments: []string{"plan"}, Covariates: []string{"nope"}})
			return err
		}, codes.InvalidArgument},
		{"change without segments", func() error {
			_, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref, Outcome: "y", TimeColumn: "month"})
			return err
		}, codes.InvalidArgument},
		{"discover unknown column", func() error {
			_, err := c.Causal.DiscoverGraph(ctx, &causalv1.DiscoverGraphRequest{Dataset: ref, Columns: []string{"z", "nope"}})
			return err
		}, codes.InvalidArgument},
	} {
		if got := status.Code(tc.call()); got != tc.code {
			t.Errorf("%s: code %v, want %v", tc.name, got, tc.code)
		}
	}
}

// TestEffectCLILevels: a three-arm treatment (assignment confounded by x) without --treated-value
// gets each arm against the control arm, in the JSON and in the Markdown table.
func TestEffectCLILevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 3))
	var b strings.Builder
	b.WriteString("arm,x,y\n")
	for i := 0; i < 2000; i++ {
		x := rng.NormFloat64()
		wa, wb := math.Exp(-0.8*x), math.Exp(0.8*x)
		u, arm, eff := rng.Float64()*(1+wa+wb), "control", 0.0
		switch {
		case u < wa:
			arm, eff = "email", 1
		case u < wa+wb:
			arm, eff = "call", 3
		}
		fmt.Fprintf(&b, "%s,%.5f,%.5f\n", arm, x, 1+eff+2*x+rng.NormFloat64())
	}
	file := filepath.Join(t.TempDir(), "arms.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := effectRun(t, file, "--treatment", "arm", "--outcome", "y", "--confounders", "x", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var e struct {
		Reference string `json:"reference_value"`
		Levels    []struct {
			Level    string    `json:"level"`
			Ate      float64   `json:"ate"`
			Interval []float64 `json:"interval"`
		} `json:"level_effects"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"email": 1, "call": 3}
	if e.Reference != "control" || len(e.Levels) != 2 {
		t.Fatalf("reference %q, levels %+v", e.Reference, e.Levels)
	}
	for _, l := range e.Levels {
		w, ok := want[l.Level]
		if !ok || math.Abs(l.Ate-w) > 0.2 || len(l.Interval) != 2 || l.Interval[0] > w || l.Interval[1] < w {
			t.Errorf("level %q: %v %v, want %v", l.Level, l.Ate, l.Interval, w)
		}
	}
	code, out, errs = effectRun(t, file, "--treatment", "arm", "--outcome", "y", "--confounders", "x", "--reference", "email")
	if code != 0 || !strings.Contains(out, "against the reference email") || !strings.Contains(out, "| control |") || !strings.Contains(out, "| call |") {
		t.Errorf("markdown levels: exit %d %s\n%s", code, errs, out)
	}
}

// TestEffectCLIThreshold: vds effect --treatment age (titanic: 0.42 to 80, median 28) suggested
// "age > 100", which no row meets; it now suggests the median as a threshold, the threshold works
// as --treated-value, and one outside the data is refused with the column's range.
func TestEffectCLIThreshold(t *testing.T) {
	titanic := shareddata.Path(t, "tabular/titanic.csv")
	code, _, errs := effectRun(t, titanic, "--treatment", "age", "--outcome", "survived", "--confounders", "pclass")
	if code != 1 || !strings.Contains(errs, `treatment "age" has 88 distinct values (from 0.42 to 80, median 28)`) ||
		!strings.Contains(errs, `for example ">28"`) || !strings.Contains(errs, "vds effect --treated-value '>28'") || !strings.Contains(errs, "age > 28 AS treated") || strings.Contains(errs, "100") {
		t.Errorf("many-valued numeric treatment: exit %d, stderr %s", code, errs)
	}
	code, out, errs := effectRun(t, titanic, "--treatment", "age", "--outcome", "survived", "--confounders", "pclass", "--treated-value", ">28")
	if code != 0 || !strings.Contains(out, "; 352 treated (age > 28), 362 control.") {
		t.Errorf("--treated-value '>28': exit %d %s\n%s", code, errs, out)
	}
	code, _, errs = effectRun(t, titanic, "--treatment", "age", "--outcome", "survived", "--treated-value", ">100")
	want := `causal: no row has age > 100, so there are 0 treated and 714 control rows (an effect needs at least 2 of each): age ranges from 0.42 to 80, median 28 in the analysis rows; give a threshold inside that range, for example ">28"`
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("--treated-value '>100': exit %d, stderr %s\nwant %s", code, errs, want)
	}
}
