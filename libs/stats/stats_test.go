package stats

// Reference values below were computed with Debian's scipy 1.10.1, statsmodels 0.13.5 and
// scikit-learn 1.2.1 by testdata/reference.py (run it with /usr/bin/python3 from this folder's
// module root: /usr/bin/python3 libs/stats/testdata/reference.py); each assertion quotes the value
// the script prints.

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

var (
	refA = []float64{5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1, 5.9, 5.0, 5.5, 6.4}
	refB = []float64{4.1, 4.5, 5.0, 4.8, 4.4, 5.2, 4.9, 4.3, 4.7, 5.5}
	refC = []float64{6.5, 7.1, 6.8, 7.4, 6.0, 6.9, 7.2}
	refX = []float64{1.2, 2.3, 2.9, 4.1, 5.0, 5.8, 7.2, 8.1, 8.8, 10.3, 11.0, 12.4}
)

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	tol := 1e-6 * math.Max(math.Abs(want), 1e-300)
	if want == 0 {
		tol = 1e-12
	}
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.17g, want %.17g (rel err %.3g)", name, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

func TestWelchAndEffectSizes(t *testing.T) {
	t.Parallel()
	r := WelchT(refA, refB)
	near(t, "t", r.Statistic, 4.556174085625076)
	near(t, "p", r.PValue, 0.000192809217668052)
	near(t, "df", r.DF, 19.960666691473545)
	near(t, "ci low", r.EstimateLow, 0.48880242998573786)
	near(t, "ci high", r.EstimateHigh, 1.314530903347595)
	near(t, "g", r.EffectSize, 1.8507965176604109)
	d := CohensD(refA, refB)
	near(t, "d", d.EffectSize, 1.9238542749364798)
	near(t, "d low", d.CILow, 0.9102442339189136)
	near(t, "d high", d.CIHigh, 2.937464315954046)
	g := HedgesG(refA, refB)
	near(t, "g", g.EffectSize, 1.8507965176604109)
	near(t, "g low", g.CILow, 0.8756779971878157)
	near(t, "g high", g.CIHigh, 2.8259150381330063)
	if r.N != 22 {
		t.Errorf("n = %d", r.N)
	}
}

func TestMannWhitney(t *testing.T) {
	t.Parallel()
	r := MannWhitneyU(refA, refB)
	near(t, "U", r.Statistic, 110)
	near(t, "p", r.PValue, 0.0010774672549602687)
	r = MannWhitneyU(refA, refC)
	near(t, "U ac", r.Statistic, 3.5)
	near(t, "p ac", r.PValue, 0.0013071422243907508)
	if r.EffectSize >= 0 {
		t.Errorf("rank-biserial %v should be negative (a smaller than c)", r.EffectSize)
	}
}

func TestChiSquare(t *testing.T) {
	t.Parallel()
	r := ChiSquare([][]float64{{12, 5, 9}, {7, 15, 4}, {3, 6, 11}}, true)
	near(t, "chi2", r.Statistic, 14.720575578267884)
	near(t, "p", r.PValue, 0.005317271739500526)
	near(t, "df", r.DF, 4)
	near(t, "V", r.EffectSize, 0.31972835234543556)
	r = ChiSquare([][]float64{{20, 15}, {10, 25}}, true)
	near(t, "yates chi2", r.Statistic, 4.725)
	near(t, "yates p", r.PValue, 0.029727183306054526)
	r = ChiSquare([][]float64{{20, 15}, {10, 25}, {0, 0}}, false)
	near(t, "chi2", r.Statistic, 5.833333333333334)
	near(t, "p", r.PValue, 0.0157252997545054)
	near(t, "V", r.EffectSize, 0.2886751345948129)
}

func TestFisherExact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b, c, d int
		or, p      float64
	}{
		{8, 2, 1, 5, 20.0, 0.034965034965034975},
		{3, 7, 9, 2, 0.09523809523809523, 0.02997312285237981},
		{20, 15, 10, 25, 3.3333333333333335, 0.028950076987203314},
		{0, 5, 6, 1, 0.0, 0.01515151515151515},
	}
	for _, c := range cases {
		r := FisherExact(c.a, c.b, c.c, c.d)
		near(t, "odds ratio", r.Statistic, c.or)
		near(t, "p", r.PValue, c.p)
	}
}

func TestANOVAKruskal(t *testing.T) {
	t.Parallel()
	groups := [][]float64{refA, refB, refC}
	r := OneWayANOVA(groups)
	near(t, "F", r.Statistic, 41.32841269675249)
	near(t, "p", r.PValue, 8.431646014234955e-09)
	near(t, "eta2", r.EffectSize, 0.7607145257019978)
	k := KruskalWallis(groups)
	near(t, "H", k.Statistic, 20.798215313759368)
	near(t, "p", k.PValue, 3.045965134518676e-05)
	codes := []int{}
	ys := []float64{}
	for g, vs := range groups {
		for _, v := range vs {
			codes = append(codes, g)
			ys = append(ys, v)
		}
	}
	near(t, "eta", CorrelationRatio(codes, ys), 0.8721895010271551)
}

func TestCorrelations(t *testing.T) {
	t.Parallel()
	y := []float64{2.0, 2.9, 3.1, 5.2, 4.8, 6.9, 7.0, 9.4, 8.7, 11.8, 10.9, 14.0}
	r := Pearson(refX, y)
	near(t, "r", r.Statistic, 0.9840809569091638)
	near(t, "p", r.PValue, 7.839307581765222e-09)
	near(t, "low", r.CILow, 0.9424332941496637)
	near(t, "high", r.CIHigh, 0.9956651154061599)
	y2 := []float64{3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0}
	r = Pearson(refX, y2)
	near(t, "r2", r.Statistic, 0.4756206891909355)
	near(t, "p2", r.PValue, 0.1180910543691845)
	near(t, "low2", r.CILow, -0.13517943700477247)
	near(t, "high2", r.CIHigh, 0.8244742433197974)
	s := Spearman(refX, y2)
	near(t, "rho", s.Statistic, 0.5265313520914635)
	near(t, "p", s.PValue, 0.07863046813632459)
	near(t, "low", s.CILow, -0.0678829418267791)
	near(t, "high", s.CIHigh, 0.8450716030494513)
	// NaN pairs are dropped.
	xn := append([]float64{math.NaN()}, refX...)
	yn := append([]float64{1}, y2...)
	near(t, "rho nan", Spearman(xn, yn).Statistic, 0.5265313520914635)
}

func TestMannKendall(t *testing.T) {
	t.Parallel()
	s := []float64{10, 12, 11, 13, 15, 14, 15, 18, 17, 19, 21, 20, 22, 22, 25}
	r := MannKendall(s)
	near(t, "S", r.Statistic, 95)
	near(t, "p", r.PValue, 3.1128789463770575e-06)
	near(t, "tau", r.EffectSize, 0.9047619047619048)
	near(t, "sen", r.Estimate, 1.0)
	near(t, "sen low", r.EstimateLow, 0.875)
	near(t, "sen high", r.EstimateHigh, 1.1)
}

func TestACF(t *testing.T) {
	t.Parallel()
	ser := []float64{112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140}
	want := []float64{1.0, 0.6236788044160081, 0.150631978421779, -0.07591974030861866, -0.14712708568561028, -0.14075633546606447, -0.14280673692133986, -0.2676930435328065, -0.26315706937648986, -0.1257174444862628, 0.011322293313260495, 0.1750368523397315, 0.31412307113285654, 0.13071211265838673}
	got := ACF(ser, 13)
	if len(got) != len(want) {
		t.Fatalf("len %d", len(got))
	}
	for i := range want {
		near(t, "acf", got[i], want[i])
	}
}

func TestBenjaminiHochberg(t *testing.T) {
	t.Parallel()
	p := []float64{0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251, 0.269, 0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696, 0.762, 0.94, 0.942, 0.975, 0.986}
	want := []float64{0.025, 0.1, 0.21, 0.21, 0.21, 0.25, 0.26428571428571423, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.5328125, 0.5328125, 0.5647058823529412, 0.781578947368421, 0.781578947368421, 0.8699999999999999, 0.9071428571428571, 0.986, 0.986, 0.986, 0.986}
	// Shuffle the order to check that q-values come back in input order.
	perm := []int{24, 3, 0, 7, 12, 1, 19, 5, 8, 22, 2, 15, 9, 4, 18, 6, 21, 10, 11, 13, 14, 16, 17, 20, 23}
	pp := make([]float64, len(p))
	for i, j := range perm {
		pp[i] = p[j]
	}
	q := BenjaminiHochberg(pp)
	for i, j := range perm {
		near(t, "q", q[i], want[j])
	}
}

func TestMutualInformationAndMoments(t *testing.T) {
	t.Parallel()
	near(t, "mi", MutualInformation([]int{0, 0, 1, 1, 2, 2, 2, 0, 1, 2, 0, 1}, []int{0, 1, 1, 1, 2, 2, 0, 0, 1, 2, 0, 2}), 0.5362771440493015)
	ab := append(append([]float64{}, refA...), refB...)
	near(t, "skew", Skewness(ab), 0.10580322481208662)
	near(t, "kurt", Kurtosis(ab), -0.944238102839841)
	codes := Discretize([]float64{1, 2, 3, 4, math.NaN(), 5, 6, 7, 8}, 4)
	if codes[4] != -1 || codes[0] != 0 || codes[8] != 3 {
		t.Errorf("discretize codes %v", codes)
	}
	near(t, "quantile", Quantile([]float64{1, 2, 3, 4}, 0.25), 1.75)
}

func TestRadixSorts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 5000, 100000} {
		x := make([]float64, n)
		s := uint64(12345)
		for i := range x {
			s = s*6364136223846793005 + 1442695040888963407
			x[i] = float64(int64(s>>11)%2001-1000) / 7 // ties, negatives, zero
		}
		x[0] = math.Inf(-1)
		x[1] = math.Inf(1)
		x[2] = math.Copysign(0, -1)
		want := append([]float64(nil), x...)
		sortRef(want)
		got := append([]float64(nil), x...)
		SortFloat64s(got)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n=%d: sorted[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
		idx := argsort(x)
		for i := 1; i < n; i++ {
			a, b := idx[i-1], idx[i]
			if x[a] > x[b] || (x[a] == x[b] && math.Signbit(x[a]) == math.Signbit(x[b]) && a > b) {
				t.Fatalf("n=%d: argsort not stable/sorted at %d", n, i)
			}
		}
	}
}

func sortRef(x []float64) { slices.Sort(x) }

// TestConfidenceIntervals checks the noncentral distributions and the effect-size intervals built
// on them against testdata/reference.py (scipy.stats.ncx2, scipy.stats.ncf, brentq inversion).
func TestConfidenceIntervals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ x, k, lam, want float64 }{
		{14.720575578267884, 4, 3.0, 0.9368135463815014},
		{14.720575578267884, 4, 40.0, 0.002622213667344193},
		{5.0, 1, 0.5, 0.9352386432171614},
		{300.0, 6, 250.0, 0.9127708542515036},
	} {
		near(t, "ncx2 cdf", NoncentralChi2CDF(c.x, c.k, c.lam), c.want)
	}
	for _, c := range []struct{ f, d1, d2, lam, want float64 }{
		{3.5, 2, 26, 4.0, 0.6429717268309794},
		{45.0, 2, 26, 60.0, 0.8321164544009085},
		{1.2, 4, 200, 0.7, 0.6007296207590713},
	} {
		near(t, "ncf cdf", NoncentralFCDF(c.f, c.d1, c.d2, c.lam), c.want)
	}
	r := ChiSquare([][]float64{{12, 5, 9}, {7, 15, 4}, {3, 6, 11}}, true)
	near(t, "V low", r.CILow, 0.10045164420876489)
	near(t, "V high", r.CIHigh, 0.4556657138671155)
	r = ChiSquare([][]float64{{20, 15}, {10, 25}}, true)
	near(t, "V 2x2 low", r.CILow, 0.049439206715396346)
	near(t, "V 2x2 high", r.CIHigh, 0.5229356373421111)
	r = OneWayANOVA([][]float64{refA, refB, refC})
	near(t, "eta2 low", r.CILow, 0.5670232884052215)
	near(t, "eta2 high", r.CIHigh, 0.8503853996543306)
	r = MannWhitneyU(refA, refB)
	near(t, "rbc", r.EffectSize, 0.8333333333333333)
	near(t, "rbc low", r.CILow, 0.6066113461021281)
	near(t, "rbc high", r.CIHigh, 0.9346994065788389)
	r = MannWhitneyU(refA, refC)
	near(t, "rbc ac", r.EffectSize, -0.9166666666666666)
	near(t, "rbc ac low", r.CILow, -0.9715887231424)
	near(t, "rbc ac high", r.CIHigh, -0.7680641323319684)
	// Kruskal-Wallis' epsilon squared has no interval here: it must stay undefined, never 0..0.
	r = KruskalWallis([][]float64{refA, refB, refC})
	if !math.IsNaN(r.CILow) || !math.IsNaN(r.CIHigh) {
		t.Errorf("kruskal CI [%v, %v], want undefined", r.CILow, r.CIHigh)
	}
	// A null effect has a lower bound of exactly 0; a huge table stays fast and bounded.
	r = ChiSquare([][]float64{{52, 48}, {48, 52}}, false)
	if r.CILow != 0 || !(r.CIHigh > 0 && r.CIHigh < 0.2) {
		t.Errorf("null V CI [%v, %v]", r.CILow, r.CIHigh)
	}
	r = ChiSquare([][]float64{{40000, 10000, 5000}, {10000, 30000, 5000}}, false)
	if !(r.CILow < r.EffectSize && r.EffectSize < r.CIHigh && r.CIHigh-r.CILow < 0.02) {
		t.Errorf("large-n V %v CI [%v, %v]", r.EffectSize, r.CILow, r.CIHigh)
	}
}

func TestQuantiles(t *testing.T) {
	t.Parallel()
	ac := append(append([]float64{}, refA...), refC...)
	SortFloat64s(ac)
	for i, c := range []struct{ p, want float64 }{{0, 4.9}, {0.1, 5.08}, {0.25, 5.5}, {0.5, 6.0}, {0.9, 7.12}, {1, 7.4}} {
		near(t, fmt.Sprintf("quantile %d", i), Quantile(ac, c.p), c.want)
	}
	near(t, "median", Median(refB), 4.75)
}

func TestCountingSortPath(t *testing.T) {
	t.Parallel()
	s := uint64(99)
	next := func() int64 { s = s*6364136223846793005 + 1442695040888963407; return int64(s >> 33) }
	for _, c := range []struct {
		name     string
		gen      func(i int) float64
		counting bool
	}{
		{"small integers", func(int) float64 { return float64(next()%101 - 50) }, true},
		{"flags", func(int) float64 { return float64(next() % 2) }, true},
		{"one fraction", func(i int) float64 {
			if i == 777 {
				return 0.5
			}
			return float64(next() % 10)
		}, false},
		{"wide integers", func(int) float64 { return float64(next() % 10_000_000) }, false},
		{"infinity", func(i int) float64 {
			if i == 5 {
				return math.Inf(1)
			}
			return float64(next() % 10)
		}, false},
	} {
		x := make([]float64, 100_000)
		for i := range x {
			x[i] = c.gen(i)
		}
		want := slices.Clone(x)
		slices.Sort(want)
		probe := slices.Clone(x)
		if got := countingSort(probe); got != c.counting {
			t.Errorf("%s: counting sort used = %v, want %v", c.name, got, c.counting)
		}
		SortFloat64s(x)
		if !slices.Equal(x, want) {
			t.Errorf("%s: not sorted", c.name)
		}
	}
}
