package glm

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

// Reference values come from statsmodels 0.13.5 (Debian python3-statsmodels) on NHEFS rows with wt82
// present (1566 rows):
//
//	import pandas as pd, statsmodels.api as sm, statsmodels.formula.api as smf
//	d = pd.read_csv("nhefs.csv"); d = d[d.wt82.notna()].reset_index(drop=True)
//	fo = "wt82_71 ~ qsmk + sex + age + I(age**2) + C(education) + wt71"
//	fl = "qsmk ~ sex + race + age + I(age**2) + C(education) + smokeintensity + wt71"
//	smf.ols(fo, d).fit()                                  # ols
//	smf.ols(fo, d).fit(cov_type="HC1")                    # olsHC1
//	smf.wls(fo, d, weights=d.age/50.0).fit()              # wls
//	smf.wls(fo, d, weights=d.age/50.0).fit(cov_type="HC0") # wlsHC0
//	smf.logit(fl, d).fit(tol=1e-12, maxiter=100)          # logit
//	smf.logit(fl, d).fit(tol=1e-12, maxiter=100, cov_type="HC0")  # logitHC0
//	smf.glm(fl, d, family=sm.families.Binomial(), freq_weights=d.exercise+1).fit(tol=1e-12)  # glmfw
//
// Patsy puts the categorical education levels right after the intercept, so the Go designs list
// education first to get the same coefficient order.
var (
	refOLSCoef    = []float64{1.7503576011111985, 0.9217074559356485, 0.5768740677725127, 1.376665383503326, -0.39853357759717234, 3.283266556237411, -1.8962116221197625, 0.5605564287943618, -0.00799079831631893, -0.10692330541338348}
	refOLSSE      = []float64{2.6471197660738146, 0.6011477383427895, 0.5439214194047595, 0.8181449970108271, 0.7204839084141289, 0.42976861125938065, 0.4121843872848878, 0.11310551838586996, 0.0012414760241311817, 0.01332322279458388}
	refOLSHC1SE   = []float64{2.681124905252936, 0.6352531365648499, 0.5522554045466306, 0.7510754918481068, 0.6986441626120989, 0.4566242009654816, 0.4571586856540794, 0.1102049485588469, 0.0012117587262912295, 0.01727670462209174}
	refWLSCoef    = []float64{1.7525563868557068, 0.9709671793851673, 0.9033710110813252, 1.5980363160456372, -0.13870993271812068, 3.254760440970231, -2.005323079695301, 0.5718506354771795, -0.008081061766017741, -0.11310283795930615}
	refWLSSE      = []float64{2.7915620933785767, 0.5740007701852361, 0.5186001002000118, 0.8300176357502015, 0.7117953645918665, 0.42122439864110994, 0.4084964579289826, 0.1141667282034642, 0.0012050575277253032, 0.013482034873434533}
	refWLSHC0SE   = []float64{2.7917073105961157, 0.6459104568499773, 0.5503757532839498, 0.7368046336375184, 0.7009908713920098, 0.47127493544536103, 0.46335952290594473, 0.11445051452369288, 0.0012539057780870853, 0.017738023136820897}
	refLogitCoef  = []float64{-2.1293925972195726, -0.07081470567228298, 0.06612140776203383, 0.13583427361348863, 0.5248095988264659, -0.3112968079306754, -0.7313660479602582, 0.031096816558116764, -7.574023590870825e-05, -0.027281616138304734, 0.007574333396658815}
	refLogitSE    = []float64{0.8550784397617678, 0.19458904819999218, 0.17327867409966552, 0.26552332451364474, 0.21852853674055805, 0.1355040792479646, 0.20482621545773183, 0.035946121802635164, 0.00038823246942543393, 0.00563242145587108, 0.0043058579756487395}
	refLogitHC0SE = []float64{0.8418439961313529, 0.19342647697677795, 0.16859528793929804, 0.26417155406914017, 0.21680667632061043, 0.13543027287811993, 0.20260170136053526, 0.03526309497802842, 0.0003821440460920244, 0.006040957728694911, 0.004428053145014916}
	refFWCoef     = []float64{-1.8609524671004973, -0.13759494080554124, -0.0493162511425809, -0.021279932808051887, 0.41214463706291055, -0.35787707806349384, -0.8359707932748831, 0.026464145441119122, -3.625388229516988e-05, -0.028767941679897255, 0.008192193713542349}
	refFWSE       = []float64{0.5819136054007482, 0.12653764291658448, 0.11306318566237131, 0.18188044378601984, 0.1482006860455278, 0.08981967553973644, 0.13286838314516144, 0.024227136175301894, 0.0002593820042207967, 0.0037986310991111063, 0.0028345098808404195}
)

func nhefs(t *testing.T) *frame.Frame {
	t.Helper()
	return loadCSV(t, shareddata.Path(t, "causal/nhefs.csv"))
}

func near(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > rel*math.Abs(want[i]) {
			t.Errorf("%s[%d] = %.12g, want %.12g (rel err %.2g)", what, i, got[i], want[i], math.Abs(got[i]-want[i])/math.Abs(want[i]))
		}
	}
}

func design(t *testing.T, f *frame.Frame, cols []string, y string) (*Design, []float64) {
	t.Helper()
	d, err := BuildDesign(f, DesignSpec{Columns: cols, Categorical: []string{"education"}, Squared: []string{"age"}, Require: []string{"wt82", y}})
	if err != nil {
		t.Fatal(err)
	}
	if d.X.RawMatrix().Rows != 1566 || d.Dropped != 63 {
		t.Fatalf("rows %d dropped %d, want 1566 and 63", d.X.RawMatrix().Rows, d.Dropped)
	}
	yv, err := Vector(f, y, d.Rows)
	if err != nil {
		t.Fatal(err)
	}
	return d, yv
}

func TestOLSMatchesStatsmodels(t *testing.T) {
	f := nhefs(t)
	d, y := design(t, f, []string{"education", "qsmk", "sex", "age", "wt71"}, "wt82_71")
	want := []string{"Intercept", "education[T.2]", "education[T.3]", "education[T.4]", "education[T.5]", "qsmk", "sex", "age", "age^2", "wt71"}
	for i, n := range d.Names() {
		if n != want[i] {
			t.Fatalf("names %v, want %v", d.Names(), want)
		}
	}
	r, err := OLS(d.X, y, Options{Names: d.Names()})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ols coef", r.Coef, refOLSCoef, 1e-6)
	near(t, "ols se", r.SE, refOLSSE, 1e-6)
	if r.Dist != "t" || r.DFResid != 1556 {
		t.Errorf("dist %s df %d", r.Dist, r.DFResid)
	}
	r, err = OLS(d.X, y, Options{Cov: CovHC1})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ols HC1 se", r.SE, refOLSHC1SE, 1e-6)

	w := make([]float64, len(y))
	age, _ := Vector(f, "age", d.Rows)
	for i := range w {
		w[i] = age[i] / 50
	}
	r, err = OLS(d.X, y, Options{Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "wls coef", r.Coef, refWLSCoef, 1e-6)
	near(t, "wls se", r.SE, refWLSSE, 1e-6)
	r, err = OLS(d.X, y, Options{Weights: w, Cov: CovHC0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "wls HC0 se", r.SE, refWLSHC0SE, 1e-6)
	// A 95% normal interval for qsmk.
	q := r.Index("x5")
	if math.Abs(r.CIHigh[q]-r.Coef[q]-1.959963984540054*r.SE[q]) > 1e-9 {
		t.Errorf("interval half-width %v", r.CIHigh[q]-r.Coef[q])
	}
}

func TestLogitMatchesStatsmodels(t *testing.T) {
	f := nhefs(t)
	d, y := design(t, f, []string{"education", "sex", "race", "age", "smokeintensity", "wt71"}, "qsmk")
	r, err := Logit(d.X, y, Options{Names: d.Names()})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged || r.Separated {
		t.Fatalf("converged %v separated %v", r.Converged, r.Separated)
	}
	near(t, "logit coef", r.Coef, refLogitCoef, 1e-6)
	near(t, "logit se", r.SE, refLogitSE, 1e-6)
	r, err = Logit(d.X, y, Options{Cov: CovHC0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "logit HC0 se", r.SE, refLogitHC0SE, 1e-6)

	ex, _ := Vector(f, "exercise", d.Rows)
	w := make([]float64, len(ex))
	for i := range w {
		w[i] = ex[i] + 1
	}
	r, err = Logit(d.X, y, Options{Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "freq-weighted logit coef", r.Coef, refFWCoef, 1e-6)
	near(t, "freq-weighted logit se", r.SE, refFWSE, 1e-6)
}

func TestLogitSeparationWithL2(t *testing.T) {
	// x perfectly separates y: the MLE does not exist; a small ridge keeps it finite.
	n := 40
	X := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		x := float64(i) - 19.5
		X.Set(i, 0, 1)
		X.Set(i, 1, x)
		if x > 0 {
			y[i] = 1
		}
	}
	r, err := Logit(X, y, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Separated {
		t.Errorf("separation not flagged: coef %v", r.Coef)
	}
	r, err = Logit(X, y, Options{L2: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged || r.Separated || r.Coef[1] <= 0 || r.Coef[1] > 10 {
		t.Errorf("penalized fit: converged %v separated %v coef %v", r.Converged, r.Separated, r.Coef)
	}
}

func TestDesignErrors(t *testing.T) {
	f := &frame.Frame{Rows: 3, Columns: []*frame.Column{
		{Name: "a", Kind: frame.Float, F: []float64{1, 2, math.NaN()}, Null: []bool{false, false, true}},
		{Name: "s", Kind: frame.String, S: []string{"x", "y", "x"}, Null: make([]bool, 3)},
	}}
	if _, err := BuildDesign(f, DesignSpec{Columns: []string{"nope"}}); err == nil {
		t.Error("unknown column accepted")
	}
	if _, err := BuildDesign(f, DesignSpec{Columns: []string{"s"}, Squared: []string{"s"}}); err == nil {
		t.Error("squared text accepted")
	}
	d, err := BuildDesign(f, DesignSpec{Columns: []string{"a", "s"}, Reference: map[string]string{"s": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Dropped != 1 || len(d.Rows) != 2 || d.Names()[2] != "s[T.x]" {
		t.Errorf("dropped %d rows %v names %v", d.Dropped, d.Rows, d.Names())
	}
	if _, err := OLS(mat.NewDense(3, 2, []float64{1, 1, 1, 1, 1, 1}), []float64{1, 2, 3}, Options{}); err != ErrSingular {
		t.Errorf("collinear design: err %v", err)
	}
}
