package profile

import (
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/semantic"
	"github.com/vdsproject/vds/libs/stats"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// placeholderTokens are strings that stand for "no value" (compared trimmed and lowercased).
var placeholderTokens = map[string]bool{
	"": true, "na": true, "n/a": true, "n.a.": true, "nan": true, "null": true, "none": true, "nil": true,
	"missing": true, "-": true, "--": true, "?": true, "#n/a": true, "undefined": true, "unknown": true,
}

func analyzeColumn(c *frame.Column, seed maphash.Seed) *colInfo {
	ci := &colInfo{col: c, prof: &profilingv1.ColumnProfile{
		Name: c.Name, PhysicalType: physicalType(c), Count: int64(c.Len()),
	}}
	switch c.Kind {
	case frame.String:
		analyzeString(ci, seed)
	default:
		analyzeNumeric(ci)
	}
	ci.sem = semantic.Infer(ci.st)
	ci.prof.SemanticType = ci.sem
	if ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_DATETIME {
		ci.prof.Datetime = datetimeStats(ci)
	}
	if ci.col.Kind != frame.String && ci.sem != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC &&
		ci.sem != commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE && ci.sem != commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE &&
		ci.sem != commonv1.SemanticType_SEMANTIC_TYPE_DATETIME && ci.prof.DistinctCount <= 1000 {
		ci.prof.TopValues = numericTopValues(ci.sorted)
	}
	if c.Len() > 100_000 && c.Kind != frame.Time {
		ci.sorted = nil // keep memory bounded; time series re-read the column
	}
	return ci
}

func physicalType(c *frame.Column) string {
	if c.ArrowType != "" {
		return c.ArrowType
	}
	return c.Kind.String()
}

// analyzeNumeric fills numeric statistics for Float, Bool and Time columns.
func analyzeNumeric(ci *colInfo) {
	c := ci.col
	vals := make([]float64, 0, len(c.F))
	// The fingerprint hashes the values in order in four interleaved lanes (row i goes to lane
	// i%4), so the multiply chains overlap instead of waiting on each other; missing values hash
	// as one marker.
	fps := [4]uint64{14695981039346656037, 1, 2, 3}
	null := c.Null[:len(c.F)]
	for i, v := range c.F {
		key := math.Float64bits(v)
		if null[i] || v != v {
			key = 0x9e3779b97f4a7c15
		} else {
			vals = append(vals, v)
		}
		fps[i&3] = mix(fps[i&3], key)
	}
	ci.fingerprint = mix(mix(mix(fps[0], fps[1]), fps[2]), fps[3])
	stats.SortFloat64s(vals)
	n := len(vals)
	ci.prof.MissingCount = int64(len(c.F) - n)
	distinct, isInt := int64(0), true
	maxRun := 0
	for i := 0; i < n; {
		j := i + 1
		for j < n && vals[j] == vals[i] {
			j++
		}
		distinct++
		maxRun = max(maxRun, j-i)
		if vals[i] != math.Trunc(vals[i]) || math.IsInf(vals[i], 0) {
			isInt = false
		}
		i = j
	}
	ci.prof.DistinctCount = distinct
	if n > 0 {
		ci.topShare = float64(maxRun) / float64(n)
	}
	ci.st = semantic.Stats{Name: c.Name, Kind: c.Kind, IsInteger: isInt && n > 0, Count: int64(len(c.F)),
		Missing: ci.prof.MissingCount, Distinct: distinct, Min: math.NaN(), Max: math.NaN()}
	ci.sorted = vals
	if n == 0 {
		return
	}
	ci.st.Min, ci.st.Max = vals[0], vals[n-1]
	ci.st.SequentialInts = ci.st.IsInteger && distinct == int64(n) && vals[n-1]-vals[0]+1 == float64(n)
	if c.Kind != frame.Float {
		return
	}
	m := stats.ComputeMoments(vals)
	ns := &profilingv1.NumericStats{
		Min: vals[0], Max: vals[n-1], Mean: m.Mean, Std: nz(m.Std()),
		P05: stats.Quantile(vals, 0.05), Q1: stats.Quantile(vals, 0.25), Median: stats.Quantile(vals, 0.5),
		Q3: stats.Quantile(vals, 0.75), P95: stats.Quantile(vals, 0.95),
		Zeros: int64(m.Zeros), Negatives: int64(m.Negatives),
		Skewness: nz(m.Skewness()), Kurtosis: nz(m.Kurtosis()),
	}
	ci.skew = ns.Skewness
	iqr := ns.Q3 - ns.Q1
	ns.OutliersIqr = countOutside(vals, ns.Q1-1.5*iqr, ns.Q3+1.5*iqr)
	if mad := medianAbsDev(vals, ns.Median); mad > 0 {
		// Iglewicz-Hoaglin modified z-score |x - median| / (1.4826 MAD) > 3.5.
		k := 3.5 * 1.4826 * mad
		ns.OutliersMad = countOutside(vals, ns.Median-k, ns.Median+k)
	}
	if m.Zeros == 0 && m.Negatives == 0 {
		ci.scale = scaleMismatch(vals)
	}
	ci.bins = histogram(vals, iqr)
	for _, b := range ci.bins {
		ns.Histogram = append(ns.Histogram, &profilingv1.Bin{Low: b.Low, High: b.High, Count: b.Count})
	}
	ci.spread = binEntropy(ci.bins)
	if distinct >= 20 {
		ns.Multimodality, ns.Multimodal = multimodality(vals, m.Mean, ns.Std)
	}
	ci.prof.Numeric = ns
}

// scaleInfo describes a column whose values fall into two groups a power of ten apart.
type scaleInfo struct {
	lowMedian, highMedian float64
	lowShare, factor      float64
}

// scaleMismatch looks for a unit mix-up in sorted positive values (metres among centimetres, grams
// among kilograms): the widest gap between neighbours on the log scale must span at least a decade
// with no values, be wider than the spread (10th to 90th percentile) of either side, leave at least
// 1% (and 5 values) on each side, and the two sides' medians must be 100 or 1000 times apart
// (within a factor of 2).
func scaleMismatch(vals []float64) *scaleInfo {
	n := len(vals)
	if n < 50 {
		return nil
	}
	minSide := max(5, n/100)
	ratio, at := 0.0, -1
	for i := minSide - 1; i < n-minSide; i++ {
		if r := vals[i+1] / vals[i]; r > ratio {
			ratio, at = r, i
		}
	}
	if at < 0 || ratio < 10 {
		return nil
	}
	gap := math.Log10(ratio)
	low, high := vals[:at+1], vals[at+1:]
	spread := func(s []float64) float64 {
		return math.Log10(stats.Quantile(s, 0.9)) - math.Log10(stats.Quantile(s, 0.1))
	}
	if spread(low) >= gap || spread(high) >= gap {
		return nil
	}
	lm, hm := stats.Quantile(low, 0.5), stats.Quantile(high, 0.5)
	decades := math.Log10(hm / lm)
	k := math.Round(decades)
	if (k != 2 && k != 3) || math.Abs(decades-k) > math.Log10(2) {
		return nil
	}
	return &scaleInfo{lowMedian: lm, highMedian: hm, lowShare: float64(len(low)) / float64(n), factor: math.Pow(10, k)}
}

func nz(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// mix folds v into the running hash h (splitmix64 finalizer over h*prime ^ v).
func mix(h, v uint64) uint64 {
	h = (h ^ v) * 0x100000001b3
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// countOutside counts sorted values below lo or above hi.
func countOutside(sorted []float64, lo, hi float64) int64 {
	below, _ := slices.BinarySearch(sorted, lo)
	above := len(sorted) - upperBound(sorted, hi)
	return int64(below + above)
}

// upperBound is the first index with sorted[i] > v.
func upperBound(sorted []float64, v float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sorted[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// medianAbsDev is the median of |x - med| for sorted x, in O(n) by merging the two monotone halves.
func medianAbsDev(sorted []float64, med float64) float64 {
	n := len(sorted)
	split := upperBound(sorted, med) // sorted[:split] <= med
	// Left deviations increase going left from split-1; right ones increase from split.
	l, r := split-1, split
	var prev, cur float64
	for k := 0; k <= n/2; k++ {
		var d float64
		if r >= n || (l >= 0 && med-sorted[l] <= sorted[r]-med) {
			d = med - sorted[l]
			l--
		} else {
			d = sorted[r] - med
			r++
		}
		prev, cur = cur, d
	}
	if n%2 == 0 {
		return (prev + cur) / 2
	}
	return cur
}

// histogram bins sorted values into 10..30 equal-width bins (Freedman-Diaconis width, clamped).
func histogram(sorted []float64, iqr float64) []charts.Bin {
	n := len(sorted)
	lo, hi := sorted[0], sorted[n-1]
	if hi == lo || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return []charts.Bin{{Low: lo, High: hi, Count: int64(n)}}
	}
	k := 20
	if iqr > 0 {
		w := 2 * iqr / math.Cbrt(float64(n))
		k = int(math.Ceil((hi - lo) / w))
	}
	k = max(10, min(30, k))
	width := (hi - lo) / float64(k)
	out := make([]charts.Bin, k)
	start := 0
	for b := 0; b < k; b++ {
		low := lo + float64(b)*width
		high := lo + float64(b+1)*width
		end := n
		if b < k-1 {
			end = start + lowerBound(sorted[start:], high)
		}
		out[b] = charts.Bin{Low: low, High: high, Count: int64(end - start)}
		start = end
	}
	out[k-1].High = hi
	return out
}

func lowerBound(sorted []float64, v float64) int {
	i, _ := slices.BinarySearch(sorted, v)
	return i
}

func binEntropy(bins []charts.Bin) float64 {
	if len(bins) < 2 {
		return 0
	}
	counts := make([]int64, len(bins))
	for i, b := range bins {
		counts[i] = b.Count
	}
	return normEntropy(counts)
}

func normEntropy(counts []int64) float64 {
	var n float64
	for _, c := range counts {
		n += float64(c)
	}
	if n == 0 || len(counts) < 2 {
		return 0
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log(p)
		}
	}
	return h / math.Log(float64(len(counts)))
}

// numericTopValues lists the most frequent values of sorted numbers.
func numericTopValues(sorted []float64) []*profilingv1.ValueCount {
	var out []*profilingv1.ValueCount
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		out = append(out, &profilingv1.ValueCount{Value: formatNum(sorted[i]), Count: int64(j - i)})
		i = j
	}
	slices.SortStableFunc(out, func(a, b *profilingv1.ValueCount) int { return int(b.Count - a.Count) })
	if len(out) > TopValues {
		out = out[:TopValues]
	}
	return out
}

// analyzeString fills counts, top values, lengths and placeholder/mixed-type evidence.
func analyzeString(ci *colInfo, seed maphash.Seed) {
	c := ci.col
	index := make(map[string]int32)
	ci.codes = make([]int32, len(c.S))
	var hll *hyperLogLog
	var missing int64
	fp := uint64(14695981039346656037)
	for i, v := range c.S {
		if c.Null[i] {
			missing++
			ci.codes[i] = -1
			fp = mix(fp, 0x9e3779b97f4a7c15)
			continue
		}
		hv := maphash.String(seed, v)
		fp = mix(fp, hv)
		k, ok := index[v]
		if !ok {
			if len(index) >= ExactDistinctLimit {
				if hll == nil {
					hll = newHLL()
					for s := range index {
						hll.add(maphash.String(seed, s))
					}
				}
				hll.add(hv)
				ci.codes[i] = -2
				continue
			}
			k = int32(len(index))
			index[v] = k
			ci.levels = append(ci.levels, v)
			ci.counts = append(ci.counts, 0)
		}
		ci.counts[k]++
		ci.codes[i] = k
	}
	ci.fingerprint = fp
	present := int64(len(c.S)) - missing
	ci.prof.MissingCount = missing
	ci.prof.DistinctCount = int64(len(index))
	if hll != nil {
		ci.prof.DistinctCount = max(int64(len(index)), int64(math.Round(hll.estimate())))
		ci.prof.DistinctIsEstimate = true
	}
	// Lengths, spaces, placeholders and numeric share, computed per distinct value and weighted.
	var totalLen, spaces, numeric float64
	minLen, maxLen := math.Inf(1), 0.0
	ci.placeholders = map[string]int64{}
	ci.nonNumeric = map[string]int64{}
	for k, v := range ci.levels {
		cnt := ci.counts[k]
		l := float64(utf8.RuneCountInString(v))
		totalLen += l * float64(cnt)
		minLen, maxLen = math.Min(minLen, l), math.Max(maxLen, l)
		if strings.ContainsAny(v, " \t\r\n") {
			spaces += float64(cnt)
		}
		t := strings.ToLower(strings.TrimSpace(v))
		if placeholderTokens[t] {
			ci.placeholders[v] += cnt
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			numeric += float64(cnt)
		} else if len(ci.nonNumeric) < 1000 {
			ci.nonNumeric[v] += cnt
		}
	}
	counted := float64(0)
	for _, cnt := range ci.counts {
		counted += float64(cnt)
	}
	st := semantic.Stats{Name: c.Name, Kind: c.Kind, Count: int64(len(c.S)), Missing: missing,
		Distinct: ci.prof.DistinctCount, Min: math.NaN(), Max: math.NaN()}
	if counted > 0 {
		st.MinLen, st.MaxLen, st.MeanLen = minLen, maxLen, totalLen/counted
		st.SpaceShare = spaces / counted
		ci.numericShare = numeric / counted
		ci.prof.Text = &profilingv1.TextStats{MinLength: minLen, MaxLength: maxLen, MeanLength: totalLen / counted}
	}
	if len(ci.levels) <= 10 {
		st.Values = slices.Clone(ci.levels)
	}
	ci.st = st
	// Top values.
	order := make([]int, len(ci.levels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(ci.counts[b] - ci.counts[a]) })
	for _, k := range order[:min(TopValues, len(order))] {
		ci.prof.TopValues = append(ci.prof.TopValues, &profilingv1.ValueCount{Value: ci.levels[k], Count: ci.counts[k]})
	}
	if present > 0 && len(order) > 0 {
		ci.topShare = float64(ci.counts[order[0]]) / float64(present)
	}
	if !ci.prof.DistinctIsEstimate && len(ci.counts) > 1 {
		ci.spread = normEntropy(ci.counts)
	}
}

// datetimeStats reports range, typical spacing and gaps of a Time column.
func datetimeStats(ci *colInfo) *profilingv1.DatetimeStats {
	vals := ci.sorted
	if len(vals) == 0 {
		return nil
	}
	ds := &profilingv1.DatetimeStats{
		Min: timestamppb.New(frame.TimeOf(vals[0])), Max: timestamppb.New(frame.TimeOf(vals[len(vals)-1])),
	}
	var diffs []float64
	for i := 1; i < len(vals); i++ {
		if d := vals[i] - vals[i-1]; d > 0 {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) == 0 {
		return ds
	}
	slices.Sort(diffs)
	step := stats.Quantile(diffs, 0.5)
	ds.Granularity = granularity(step)
	// A gap is a spacing of more than 1.5 typical steps (months and years vary in length, which 1.5
	// absorbs).
	for _, d := range diffs {
		if d > 1.5*step {
			ds.Gaps++
		}
	}
	return ds
}

var granularities = []struct {
	name string
	sec  float64
}{
	{"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}, {"week", 7 * 86400},
	{"month", 30.44 * 86400}, {"quarter", 91.3 * 86400}, {"year", 365.25 * 86400},
}

// granularity names the calendar unit nearest (in log scale) to a spacing in seconds.
func granularity(step float64) string {
	best, bestD := "", math.Inf(1)
	for _, g := range granularities {
		if d := math.Abs(math.Log(step / g.sec)); d < bestD {
			best, bestD = g.name, d
		}
	}
	if step < 1 {
		return "second"
	}
	return best
}

// duplicateRows counts rows that repeat an earlier row (by a 64-bit hash of all values).
func duplicateRows(f *frame.Frame, seed maphash.Seed) int64 {
	if f.Rows < 2 || len(f.Columns) == 0 {
		return 0
	}
	h := make([]uint64, f.Rows)
	for _, c := range f.Columns {
		if c.Kind == frame.String {
			for i, v := range c.S {
				x := uint64(0x9e3779b97f4a7c15)
				if !c.Null[i] {
					x = maphash.String(seed, v)
				}
				h[i] = mix(h[i], x)
			}
			continue
		}
		for i, v := range c.F {
			x := uint64(0x9e3779b97f4a7c15)
			if !c.Null[i] && v == v {
				x = math.Float64bits(v)
			}
			h[i] = mix(h[i], x)
		}
	}
	stats.SortUint64s(h)
	var dup int64
	for i := 1; i < len(h); i++ {
		if h[i] == h[i-1] {
			dup++
		}
	}
	return dup
}

// duplicateColumns reports groups of columns with identical values in every row.
func duplicateColumns(infos []*colInfo) []*profilingv1.Alert {
	var out []*profilingv1.Alert
	seen := map[uint64][]int{}
	for i, ci := range infos {
		if ci.present() == 0 {
			continue
		}
		seen[ci.fingerprint] = append(seen[ci.fingerprint], i)
	}
	keys := make([]uint64, 0, len(seen))
	for k, g := range seen {
		if len(g) > 1 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b uint64) int { return seen[a][0] - seen[b][0] })
	for _, k := range keys {
		g := seen[k]
		var names []string
		for _, i := range g {
			if i == g[0] || sameValues(infos[g[0]].col, infos[i].col) {
				names = append(names, infos[i].col.Name)
			}
		}
		if len(names) < 2 {
			continue
		}
		out = append(out, &profilingv1.Alert{
			Kind: "duplicate_columns", Severity: commonv1.Severity_SEVERITY_WARNING, Columns: names,
			Message:  "columns " + strings.Join(names, ", ") + " hold identical values; keep one",
			Evidence: map[string]float64{"columns": float64(len(names))},
		})
	}
	return out
}

func sameValues(a, b *frame.Column) bool {
	if (a.Kind == frame.String) != (b.Kind == frame.String) {
		return false
	}
	for i := range a.Null {
		if a.Null[i] != b.Null[i] {
			return false
		}
		if a.Null[i] {
			continue
		}
		if a.Kind == frame.String {
			if a.S[i] != b.S[i] {
				return false
			}
		} else if a.F[i] != b.F[i] {
			return false
		}
	}
	return true
}

// hyperLogLog is a HyperLogLog sketch with 2^14 registers (about 0.8% standard error).
type hyperLogLog struct{ reg []uint8 }

const hllP = 14

func newHLL() *hyperLogLog { return &hyperLogLog{reg: make([]uint8, 1<<hllP)} }

func (h *hyperLogLog) add(x uint64) {
	x = mix(x, 0x2545f4914f6cdd1d) // spread bits
	idx := x >> (64 - hllP)
	rest := x<<hllP | 1<<(hllP-1)
	rank := uint8(bits.LeadingZeros64(rest)) + 1
	if rank > h.reg[idx] {
		h.reg[idx] = rank
	}
}

func (h *hyperLogLog) estimate() float64 {
	m := float64(len(h.reg))
	sum, zeros := 0.0, 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros)) // linear counting for small cardinalities
	}
	return e
}
