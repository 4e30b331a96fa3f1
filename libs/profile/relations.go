package profile

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/stats"
)

// maxLevels caps category levels in pairwise work (rarer levels are lumped together).
const maxLevels = 50

// heatmapColumns caps the numeric columns drawn in the correlation heatmap.
const heatmapColumns = 30

type relResult struct {
	correlations []*profilingv1.Correlation
	alerts       []*profilingv1.Alert
	heatmap      *commonv1.Chart
}

// sampleRows returns sorted row indices: all rows, or a fixed-seed uniform sample of k rows.
func sampleRows(n, k int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n <= k {
		return idx
	}
	r := rand.New(rand.NewPCG(42, uint64(n)))
	for i := 0; i < k; i++ {
		j := i + r.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

// pairCol is a column prepared for pairwise work on the row sample.
type pairCol struct {
	ci     *colInfo
	num    []float64 // numeric values (NaN missing), numeric role
	ranks  []float64 // average ranks among non-missing values, NaN missing
	codes  []int     // category codes (-1 missing), categorical role
	levels int
}

func prepare(ci *colInfo, rows []int, numeric bool) *pairCol {
	pc := &pairCol{ci: ci}
	if numeric {
		pc.num = make([]float64, len(rows))
		for k, i := range rows {
			pc.num[k] = ci.col.F[i]
		}
		pc.ranks = ranksWithNaN(pc.num)
		return pc
	}
	all, labels := ci.catCodes(maxLevels)
	pc.levels = len(labels)
	if pc.levels == 0 {
		pc.levels = 1
	}
	pc.codes = make([]int, len(rows))
	for k, i := range rows {
		pc.codes[k] = all[i]
	}
	return pc
}

func ranksWithNaN(x []float64) []float64 {
	var vals []float64
	var pos []int
	for i, v := range x {
		if v == v {
			vals = append(vals, v)
			pos = append(pos, i)
		}
	}
	r, _ := stats.Ranks(vals)
	out := make([]float64, len(x))
	for i := range out {
		out[i] = math.NaN()
	}
	for k, i := range pos {
		out[i] = r[k]
	}
	return out
}

// codesOf returns category codes for a numeric column by equal-frequency binning.
func (pc *pairCol) discrete(bins int) ([]int, int) {
	if pc.codes != nil {
		return pc.codes, pc.levels
	}
	c := stats.Discretize(pc.num, bins)
	k := 0
	for _, v := range c {
		k = max(k, v+1)
	}
	return c, max(k, 1)
}

// relationships computes pairwise associations, mutual information with the target, leakage and
// imbalance alerts, and the correlation heatmap.
func relationships(ctx context.Context, f *frame.Frame, infos []*colInfo, opts Options) relResult {
	var res relResult
	rows := sampleRows(f.Rows, PairSampleRows)
	var target *colInfo
	var cands []*colInfo
	for _, ci := range infos {
		if ci.col.Name == opts.Target {
			target = ci
			continue
		}
		if ci.numericRole() || ci.categoricalRole() {
			cands = append(cands, ci)
		}
	}
	slices.SortStableFunc(cands, func(a, b *colInfo) int {
		switch {
		case a.spread > b.spread:
			return -1
		case a.spread < b.spread:
			return 1
		}
		return 0
	})
	limit := opts.MaxPairColumns
	if target != nil && (target.numericRole() || target.categoricalRole()) {
		limit--
	}
	selected := cands[:min(len(cands), max(limit, 0))]
	// Keep frame order for stable output.
	slices.SortStableFunc(selected, func(a, b *colInfo) int { return indexOf(infos, a) - indexOf(infos, b) })
	prepared := map[*colInfo]*pairCol{}
	get := func(ci *colInfo) *pairCol {
		if pc, ok := prepared[ci]; ok {
			return pc
		}
		pc := prepare(ci, rows, ci.numericRole())
		prepared[ci] = pc
		return pc
	}
	pairSet := slices.Clone(selected)
	if target != nil && (target.numericRole() || target.categoricalRole()) {
		pairSet = append(pairSet, target)
		slices.SortStableFunc(pairSet, func(a, b *colInfo) int { return indexOf(infos, a) - indexOf(infos, b) })
	}
	// Prepare the paired columns (sample, ranks, codes) in parallel; the pair loop below and the
	// target checks then find them in the cache.
	pcs := make([]*pairCol, len(pairSet))
	if err := parallel(ctx, len(pairSet), func(i int) { pcs[i] = prepare(pairSet[i], rows, pairSet[i].numericRole()) }); err != nil {
		return res
	}
	for i, ci := range pairSet {
		prepared[ci] = pcs[i]
	}
	pearson := map[[2]string]float64{}
	for i := 0; i < len(pairSet); i++ {
		if ctx.Err() != nil {
			return res
		}
		a := get(pairSet[i])
		for j := i + 1; j < len(pairSet); j++ {
			b := get(pairSet[j])
			na, nb := a.ci.col.Name, b.ci.col.Name
			switch {
			case a.num != nil && b.num != nil:
				r := pairPearson(a.num, b.num)
				rho := pairPearson(a.ranks, b.ranks)
				pearson[[2]string{na, nb}] = r
				res.correlations = append(res.correlations,
					&profilingv1.Correlation{ColumnA: na, ColumnB: nb, Method: "pearson", Value: nz(r)},
					&profilingv1.Correlation{ColumnA: na, ColumnB: nb, Method: "spearman", Value: nz(rho)})
			case a.codes != nil && b.codes != nil:
				v := cramersV(a.codes, a.levels, b.codes, b.levels)
				res.correlations = append(res.correlations,
					&profilingv1.Correlation{ColumnA: na, ColumnB: nb, Method: "cramers_v", Value: nz(v)})
			default:
				cat, num := a, b
				if a.codes == nil {
					cat, num = b, a
				}
				eta := stats.CorrelationRatio(cat.codes, num.num)
				res.correlations = append(res.correlations,
					&profilingv1.Correlation{ColumnA: na, ColumnB: nb, Method: "correlation_ratio", Value: nz(eta)})
			}
		}
	}
	res.heatmap = heatmap(pairSet, pearson)
	if target != nil {
		res.correlations, res.alerts = targetChecks(infos, target, rows, get, res.correlations)
	}
	return res
}

func indexOf(infos []*colInfo, ci *colInfo) int { return slices.Index(infos, ci) }

// pairPearson is the Pearson correlation over rows where both values are present.
func pairPearson(x, y []float64) float64 {
	var n, sx, sy float64
	for i := range x {
		if x[i] == x[i] && y[i] == y[i] {
			n++
			sx += x[i]
			sy += y[i]
		}
	}
	if n < 3 {
		return math.NaN()
	}
	mx, my := sx/n, sy/n
	var sxy, sxx, syy float64
	for i := range x {
		if x[i] == x[i] && y[i] == y[i] {
			dx, dy := x[i]-mx, y[i]-my
			sxy += dx * dy
			sxx += dx * dx
			syy += dy * dy
		}
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// table builds the dense contingency table of two codings.
func table(a []int, ka int, b []int, kb int) [][]float64 {
	t := make([][]float64, ka)
	for i := range t {
		t[i] = make([]float64, kb)
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] < ka && b[i] < kb {
			t[a[i]][b[i]]++
		}
	}
	return t
}

func cramersV(a []int, ka int, b []int, kb int) float64 {
	return stats.ChiSquare(table(a, ka, b, kb), false).EffectSize
}

// mutualInfo is the mutual information (nats) of two codings and the entropy of b, from the dense table.
func mutualInfo(a []int, ka int, b []int, kb int) (mi, hb, ha float64) {
	t := table(a, ka, b, kb)
	ra := make([]float64, ka)
	cb := make([]float64, kb)
	n := 0.0
	for i := range t {
		for j, v := range t[i] {
			ra[i] += v
			cb[j] += v
			n += v
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	for i := range t {
		for j, v := range t[i] {
			if v > 0 {
				mi += v / n * math.Log(v*n/(ra[i]*cb[j]))
			}
		}
	}
	for _, v := range cb {
		if v > 0 {
			hb -= v / n * math.Log(v/n)
		}
	}
	for _, v := range ra {
		if v > 0 {
			ha -= v / n * math.Log(v/n)
		}
	}
	return math.Max(0, mi), hb, ha
}

// targetChecks adds mutual information with the target for every usable feature and raises leakage
// and imbalance alerts.
func targetChecks(infos []*colInfo, target *colInfo, rows []int, get func(*colInfo) *pairCol, corr []*profilingv1.Correlation) ([]*profilingv1.Correlation, []*profilingv1.Alert) {
	var alerts []*profilingv1.Alert
	if !target.numericRole() && !target.categoricalRole() {
		return corr, alerts
	}
	tc := get(target)
	tcodes, tk := tc.discrete(10)
	tname := target.col.Name
	if target.categoricalRole() {
		alerts = append(alerts, imbalance(target)...)
	}
	for _, ci := range infos {
		if ci == target || !(ci.numericRole() || ci.categoricalRole()) {
			continue
		}
		fc := get(ci)
		codes, k := fc.discrete(10)
		mi, ht, _ := mutualInfo(codes, k, tcodes, tk)
		corr = append(corr, &profilingv1.Correlation{ColumnA: ci.col.Name, ColumnB: tname, Method: "mutual_information", Value: nz(mi)})
		// Leakage: a feature that (nearly) determines the target.
		present := float64(ci.present())
		if ci.categoricalRole() && float64(ci.prof.DistinctCount) > math.Max(20, present/10) {
			continue // many small levels determine anything; not evidence of leakage
		}
		ev := map[string]float64{}
		leak := false
		if target.categoricalRole() {
			u := 0.0
			if ht > 0 {
				u = mi / ht
			}
			ev["uncertainty_coefficient"] = u
			ev["mutual_information"] = mi
			leak = u >= leakageU
		} else {
			var r float64
			if fc.num != nil {
				r = math.Abs(pairPearson(fc.num, tc.num))
				ev["abs_pearson"] = r
			} else {
				r = stats.CorrelationRatio(fc.codes, tc.num)
				ev["correlation_ratio"] = r
			}
			leak = r >= leakageR
		}
		if leak {
			alerts = append(alerts, alert("leakage", commonv1.Severity_SEVERITY_CRITICAL, []string{ci.col.Name, tname},
				fmt.Sprintf("%s almost determines the target %s; it is probably recorded after the outcome or derived from it — drop it before modelling", ci.col.Name, tname),
				ev))
		}
	}
	return corr, alerts
}

func imbalance(target *colInfo) []*profilingv1.Alert {
	present := float64(target.present())
	tv := target.prof.TopValues
	if present == 0 || len(tv) < 2 || target.prof.DistinctCount > int64(len(tv)) {
		return nil
	}
	minority := tv[len(tv)-1]
	share := float64(minority.Count) / present
	if share >= imbalanceShare {
		return nil
	}
	sev := commonv1.Severity_SEVERITY_WARNING
	if share < 0.05 {
		sev = commonv1.Severity_SEVERITY_CRITICAL
	}
	return []*profilingv1.Alert{alert("imbalance", sev, []string{target.col.Name},
		fmt.Sprintf("target %s is imbalanced: class %q holds only %.1f%% of rows; use stratified splits and class-aware metrics", target.col.Name, minority.Value, 100*share),
		map[string]float64{"minority_share": share, "classes": float64(len(tv))})}
}

func heatmap(cols []*colInfo, pearson map[[2]string]float64) *commonv1.Chart {
	var names []string
	for _, ci := range cols {
		if ci.numericRole() && len(names) < heatmapColumns {
			names = append(names, ci.col.Name)
		}
	}
	if len(names) < 2 {
		return nil
	}
	m := make([][]float64, len(names))
	for i := range names {
		m[i] = make([]float64, len(names))
		for j := range names {
			switch {
			case i == j:
				m[i][j] = 1
			case i < j:
				m[i][j] = pearson[[2]string{names[i], names[j]}]
			default:
				m[i][j] = pearson[[2]string{names[j], names[i]}]
			}
		}
	}
	return makeChart("Pearson correlations", "heatmap", charts.Heatmap("Pearson correlations", names, m),
		"pairwise Pearson correlations of numeric columns")
}

// makeChart wraps a spec as a chart with a fresh random ID (cht_…).
func makeChart(title, kind string, spec charts.Spec, source string) *commonv1.Chart {
	st, err := charts.ToStruct(spec)
	if err != nil {
		return nil
	}
	return &commonv1.Chart{Id: ids.New(ids.Chart), Title: title, Kind: kind, VegaLite: st, Source: source}
}
