package learn

import (
	"context"
	"math"
	"math/rand"
	"sort"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// gbdtParams configures histogram gradient boosting.
type gbdtParams struct {
	LearningRate   float64
	MaxLeaves      int
	MaxDepth       int
	MinChildWeight float64
	MinSamplesLeaf int
	Lambda         float64
	Subsample      float64
	Colsample      float64
	MaxRounds      int
	EarlyStop      int // stop after this many rounds without validation improvement; 0 disables
}

const (
	maxBins  = 255 // non-missing bins per feature (0..254)
	missBin  = 255 // the bin of missing values
	histBins = 256 // histogram entries per feature: the non-missing bins and missBin
)

// hbin is one histogram entry: the sums of gradients and hessians of the rows in the bin and their
// count. A histogram holds histBins entries per feature, feature-major.
type hbin struct{ g, h, n float64 }

// gpair is a row's gradient and hessian, kept together so that a histogram update loads both at once.
type gpair struct{ g, h float64 }

// binner maps raw feature values to bins: bin b holds values v with edges[b-1] < v <= edges[b];
// the last edge is +Inf.
type binner struct {
	edges [][]float64
}

func fitBinner(x *dense) *binner {
	b := &binner{edges: make([][]float64, x.p)}
	vals := make([]float64, 0, x.n)
	var tmp []uint64
	for j, col := range x.cols {
		vals = vals[:0]
		for _, v := range col {
			if !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		tmp = sortFloats(vals, tmp)
		uniq := 0
		for i, v := range vals {
			if i == 0 || v != vals[i-1] {
				uniq++
			}
		}
		var edges []float64
		if uniq <= maxBins {
			// midpoints between consecutive distinct values
			for i := 1; i < len(vals); i++ {
				if vals[i] != vals[i-1] {
					edges = append(edges, vals[i-1]+(vals[i]-vals[i-1])/2)
				}
			}
		} else {
			// quantiles over the full (duplicated) sample
			for k := 1; k < maxBins; k++ {
				q := vals[k*len(vals)/maxBins]
				if len(edges) == 0 || q > edges[len(edges)-1] {
					edges = append(edges, q)
				}
			}
		}
		edges = append(edges, math.Inf(1))
		b.edges[j] = edges
	}
	return b
}

// sortFloats sorts v (no NaN) ascending with a least-significant-digit radix sort on the values'
// order-preserving bit patterns (11-bit digits; a digit every value shares is skipped). Negative zero
// sorts before zero. tmp is scratch, returned for reuse.
func sortFloats(v []float64, tmp []uint64) []uint64 {
	n := len(v)
	if n < 256 {
		sort.Float64s(v)
		return tmp
	}
	if cap(tmp) < 2*n {
		tmp = make([]uint64, 2*n)
	}
	a, b := tmp[:n], tmp[n:2*n]
	for i, f := range v {
		u := math.Float64bits(f)
		// flip all bits of negatives and the sign bit of non-negatives
		u ^= uint64(int64(u)>>63) | 1<<63
		a[i] = u
	}
	const bits, size = 11, 1 << 11
	var cnt [size]int
	for shift := uint(0); shift < 64; shift += bits {
		clear(cnt[:])
		for _, u := range a {
			cnt[(u>>shift)&(size-1)]++
		}
		if cnt[(a[0]>>shift)&(size-1)] == n {
			continue
		}
		sum := 0
		for d, c := range cnt {
			cnt[d] = sum
			sum += c
		}
		for _, u := range a {
			d := (u >> shift) & (size - 1)
			b[cnt[d]] = u
			cnt[d]++
		}
		a, b = b, a
	}
	for i, u := range a {
		u ^= uint64(int64(^u)>>63) | 1<<63
		v[i] = math.Float64frombits(u)
	}
	return tmp
}

// binOf returns the smallest b with v <= e[b] (v is not NaN and e ends with +Inf).
func binOf(e []float64, v float64) uint8 {
	lo, hi := 0, len(e)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if e[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return uint8(lo)
}

func (b *binner) bin(x *dense) [][]uint8 {
	out := make([][]uint8, x.p)
	buf := make([]uint8, x.n*x.p)
	for j, col := range x.cols {
		o := buf[j*x.n : (j+1)*x.n]
		e := b.edges[j]
		for i, v := range col {
			if math.IsNaN(v) {
				o[i] = missBin
			} else {
				o[i] = binOf(e, v)
			}
		}
		out[j] = o
	}
	return out
}

type splitInfo struct {
	feat, bin  int
	missLeft   bool
	gain       float64
	gl, hl, nl float64
}

type growLeaf struct {
	node       int
	start, end int
	g, h, n    float64
	depth      int
	hist       []hbin
	sp         splitInfo
}

// leafSpan is a leaf of the last grown tree: its rows are idx[start:end].
type leafSpan struct {
	start, end int
	value      float64
}

type treeBuild struct {
	feature []int32
	thr     []float64
	binThr  []int
	left    []int32
	right   []int32
	value   []float64
	defL    []bool
	cover   []float64
}

func (t *treeBuild) add() int {
	t.feature = append(t.feature, -1)
	t.thr = append(t.thr, 0)
	t.binThr = append(t.binThr, 0)
	t.left = append(t.left, -1)
	t.right = append(t.right, -1)
	t.value = append(t.value, 0)
	t.defL = append(t.defL, false)
	t.cover = append(t.cover, 0)
	return len(t.feature) - 1
}

func (t *treeBuild) leafBinned(bins [][]uint8, i int) float64 {
	nd := 0
	for t.feature[nd] >= 0 {
		b := bins[t.feature[nd]][i]
		var left bool
		if b == missBin {
			left = t.defL[nd]
		} else {
			left = int(b) <= t.binThr[nd]
		}
		if left {
			nd = int(t.left[nd])
		} else {
			nd = int(t.right[nd])
		}
	}
	return t.value[nd]
}

type gbdtTrainer struct {
	prm   gbdtParams
	edges [][]float64
	bins  [][]uint8
	n, p  int
	// g and h are the rows' gradients and hessians; growTree packs them into gh unless the caller
	// filled gh itself and set ghReady.
	g, h    []float64
	gh      []gpair
	ghReady bool
	og      []gpair // the gradients of a node's rows in row order (scratch)
	idx     []int
	tmp     []int // partition scratch
	pool    [][]hbin
	feats   []int
	minLeaf float64
	rng     *rand.Rand
	// splitFeats > 0 draws that many candidate features at every split (random forests);
	// extra draws one random threshold per candidate feature (extremely randomized trees).
	splitFeats int
	extra      bool
	sub        []int
	// spans holds the leaves of the last grown tree and the rows in each.
	spans []leafSpan
}

func (t *gbdtTrainer) getHist() []hbin {
	if k := len(t.pool); k > 0 {
		h := t.pool[k-1]
		t.pool = t.pool[:k-1]
		return h
	}
	return make([]hbin, t.p*histBins)
}

// buildHist fills the histogram of the features in t.feats over rows. It writes only the entries
// split finding reads (the feature's bins and missBin), and the counts only when t.counts() (every
// row's hessian is positive, so a bin is empty exactly when its hessian sum is 0).
func (t *gbdtTrainer) buildHist(hist []hbin, rows []int) {
	og := t.og[:len(rows)]
	gh := t.gh
	// A node whose rows are consecutive (the root without subsampling) reads the columns and the
	// gradients in place.
	lo := -1
	if k := len(rows); k > 0 && rows[k-1]-rows[0] == k-1 {
		lo = rows[0]
		for i, r := range rows {
			if r != lo+i {
				lo = -1
				break
			}
		}
	}
	if lo < 0 {
		for i, r := range rows {
			og[i] = gh[r]
		}
	} else {
		copy(og, gh[lo:lo+len(rows)]) // growTree sums the root's gradients from og
	}
	counts := t.counts()
	for _, f := range t.feats {
		hf := (*[histBins]hbin)(hist[f*histBins : (f+1)*histBins])
		clear(hf[:len(t.edges[f])])
		hf[missBin] = hbin{}
		col := t.bins[f]
		if lo >= 0 {
			histRange(hf, col[lo:lo+len(rows)], og, counts)
			continue
		}
		if counts {
			histCounted(hf, col, rows, og)
		} else {
			histSums(hf, col, rows, og)
		}
	}
}

// histCounted adds the rows' gradient pairs and counts to one feature's histogram, four rows at a
// time (the loads of one group do not wait on the stores of the last).
func histCounted(hf *[histBins]hbin, col []uint8, rows []int, og []gpair) {
	i := 0
	for ; i+4 <= len(rows); i += 4 {
		rr := rows[i : i+4 : i+4]
		oo := og[i : i+4 : i+4]
		b0, b1, b2, b3 := col[rr[0]], col[rr[1]], col[rr[2]], col[rr[3]]
		e := &hf[b0]
		e.g += oo[0].g
		e.h += oo[0].h
		e.n++
		e = &hf[b1]
		e.g += oo[1].g
		e.h += oo[1].h
		e.n++
		e = &hf[b2]
		e.g += oo[2].g
		e.h += oo[2].h
		e.n++
		e = &hf[b3]
		e.g += oo[3].g
		e.h += oo[3].h
		e.n++
	}
	for ; i < len(rows); i++ {
		e := &hf[col[rows[i]]]
		e.g += og[i].g
		e.h += og[i].h
		e.n++
	}
}

// histRange adds consecutive rows (bins col, gradient pairs og) to one feature's histogram.
func histRange(hf *[histBins]hbin, col []uint8, og []gpair, counts bool) {
	og = og[:len(col)]
	if counts {
		for i, b := range col {
			e := &hf[b]
			e.g += og[i].g
			e.h += og[i].h
			e.n++
		}
		return
	}
	i := 0
	for ; i+4 <= len(col); i += 4 {
		cc := col[i : i+4 : i+4]
		oo := og[i : i+4 : i+4]
		e := &hf[cc[0]]
		e.g += oo[0].g
		e.h += oo[0].h
		e = &hf[cc[1]]
		e.g += oo[1].g
		e.h += oo[1].h
		e = &hf[cc[2]]
		e.g += oo[2].g
		e.h += oo[2].h
		e = &hf[cc[3]]
		e.g += oo[3].g
		e.h += oo[3].h
	}
	for ; i < len(col); i++ {
		e := &hf[col[i]]
		e.g += og[i].g
		e.h += og[i].h
	}
}

// histSums is histCounted without the counts.
func histSums(hf *[histBins]hbin, col []uint8, rows []int, og []gpair) {
	i := 0
	for ; i+4 <= len(rows); i += 4 {
		rr := rows[i : i+4 : i+4]
		oo := og[i : i+4 : i+4]
		b0, b1, b2, b3 := col[rr[0]], col[rr[1]], col[rr[2]], col[rr[3]]
		e := &hf[b0]
		e.g += oo[0].g
		e.h += oo[0].h
		e = &hf[b1]
		e.g += oo[1].g
		e.h += oo[1].h
		e = &hf[b2]
		e.g += oo[2].g
		e.h += oo[2].h
		e = &hf[b3]
		e.g += oo[3].g
		e.h += oo[3].h
	}
	for ; i < len(rows); i++ {
		e := &hf[col[rows[i]]]
		e.g += og[i].g
		e.h += og[i].h
	}
}

// counts reports whether the histograms need row counts: only for a minimum leaf size above one
// row. Otherwise split finding tells empty sides from zero hessian sums (every hessian is
// positive) and the children's counts come from the partition.
func (t *gbdtTrainer) counts() bool { return t.minLeaf > 1 }

// subtractHist sets large to large - small over the entries buildHist writes.
func (t *gbdtTrainer) subtractHist(large, small []hbin) {
	counts := t.counts()
	for _, f := range t.feats {
		nb := len(t.edges[f])
		a := large[f*histBins : f*histBins+nb]
		s := small[f*histBins : f*histBins+nb]
		if counts {
			for k := range a {
				a[k].g -= s[k].g
				a[k].h -= s[k].h
				a[k].n -= s[k].n
			}
		} else {
			for k := range a {
				a[k].g -= s[k].g
				a[k].h -= s[k].h
			}
		}
		m := f*histBins + missBin
		large[m].g -= small[m].g
		large[m].h -= small[m].h
		large[m].n -= small[m].n
	}
}

// splittable reports whether bestSplit may find a split of l (it returns early, before drawing any
// random numbers, when not).
func (t *gbdtTrainer) splittable(l *growLeaf) bool {
	return (t.prm.MaxDepth <= 0 || l.depth < t.prm.MaxDepth) && l.n >= 2*t.minLeaf
}

func (t *gbdtTrainer) bestSplit(l *growLeaf) {
	l.sp = splitInfo{gain: 0, feat: -1}
	if !t.splittable(l) {
		return
	}
	lam := t.prm.Lambda
	mcw := t.prm.MinChildWeight
	minLeaf := t.minLeaf
	counts := t.counts()
	// The hessian sum at or below which a bin counts as empty when there are no counts: far above
	// the rounding residue that subtraction leaves (about 1e-16 of the node's sum). A bin of only
	// near-certain rows (hessians near the 1e-16 floor) counts as empty too: a side made of them
	// carries no weight to split on.
	empty := 1e-12 * l.h
	parent := l.g * l.g / (l.h + lam)
	best := l.sp
	feats := t.feats
	if t.splitFeats > 0 && t.splitFeats < len(feats) {
		pick := t.rng.Perm(len(feats))[:t.splitFeats]
		sub := t.sub[:0]
		for _, q := range pick {
			sub = append(sub, feats[q])
		}
		t.sub = sub
		feats = sub
	}
	for _, f := range feats {
		hf := (*[histBins]hbin)(l.hist[f*histBins : (f+1)*histBins])
		nb := len(t.edges[f])
		cut := -1
		if t.extra && nb > 1 {
			cut = t.rng.Intn(nb - 1)
		}
		miss := hf[missBin]
		mg, mh, mn := miss.g, miss.h, miss.n
		// Without counts a bin is empty when its hessian sum is at most empty (every row's hessian is
		// positive; a histogram made by subtraction keeps rounding residues in its empty bins).
		hasMiss := mn > 0
		if !counts {
			hasMiss = mh > empty
		}
		// Without counts: the last non-empty bin tells whether the right side is empty.
		last := nb - 1
		if !counts {
			for last >= 0 && hf[last].h <= empty {
				last--
			}
		}
		var gl, hl, nl float64
		for b := 0; b < nb; b++ {
			e := &hf[b]
			gl += e.g
			hl += e.h
			nl += e.n
			if b < nb-1 && ((counts && e.n == 0) || (!counts && e.h <= empty)) {
				continue
			}
			if cut >= 0 && b != cut {
				continue
			}
			// missing right
			if b < nb-1 || hasMiss {
				gr, hr, nr := l.g-gl, l.h-hl, l.n-nl
				var sizes bool
				if counts {
					sizes = nl >= minLeaf && nr >= minLeaf
				} else {
					sizes = hl > empty && (b < last || hasMiss)
				}
				if sizes && hl >= mcw && hr >= mcw {
					gain := gl*gl/(hl+lam) + gr*gr/(hr+lam) - parent
					if gain > best.gain {
						best = splitInfo{feat: f, bin: b, missLeft: false, gain: gain, gl: gl, hl: hl, nl: nl}
					}
				}
			}
			// missing left
			if hasMiss && b < nb-1 {
				gl2, hl2, nl2 := gl+mg, hl+mh, nl+mn
				gr, hr, nr := l.g-gl2, l.h-hl2, l.n-nl2
				var sizes bool
				if counts {
					sizes = nl2 >= minLeaf && nr >= minLeaf
				} else {
					sizes = b < last
				}
				if sizes && hl2 >= mcw && hr >= mcw {
					gain := gl2*gl2/(hl2+lam) + gr*gr/(hr+lam) - parent
					if gain > best.gain {
						best = splitInfo{feat: f, bin: b, missLeft: true, gain: gain, gl: gl2, hl: hl2, nl: nl2}
					}
				}
			}
		}
	}
	l.sp = best
}

// partition reorders idx[l.start:l.end] stably: the rows going left by l's split first, in their
// order, then the others. It returns where the right rows start.
func (t *gbdtTrainer) partition(l *growLeaf) int {
	sp := l.sp
	var goLeft [histBins]int
	for b := 0; b <= sp.bin && b < missBin; b++ {
		goLeft[b] = 1
	}
	if sp.missLeft {
		goLeft[missBin] = 1
	}
	col := t.bins[sp.feat]
	rows := t.idx[l.start:l.end]
	tmp := t.tmp[:len(rows)]
	w, k := 0, 0
	// branch-free: every row is written to both places and only the right count advances
	for _, r := range rows {
		c := goLeft[col[r]]
		rows[w] = r
		tmp[k] = r
		w += c
		k += 1 - c
	}
	copy(rows[w:], tmp[:k])
	return l.start + w
}

// growTree builds one tree on the rows idx[:m] with the current gradients. It reorders idx[:m]
// (each leaf's rows end up contiguous and in their former order) and records the leaves in t.spans.
func (t *gbdtTrainer) growTree(m int) *treeBuild {
	if !t.ghReady {
		if len(t.gh) != len(t.g) {
			t.gh = make([]gpair, len(t.g))
		}
		for i := range t.gh {
			t.gh[i] = gpair{t.g[i], t.h[i]}
		}
	}
	if len(t.og) < m {
		t.og = make([]gpair, m)
	}
	if len(t.tmp) < m {
		t.tmp = make([]int, m)
	}
	tb := &treeBuild{}
	root := &growLeaf{node: tb.add(), start: 0, end: m, hist: t.getHist()}
	t.buildHist(root.hist, t.idx[:m])
	for _, q := range t.og[:m] {
		root.g += q.g
		root.h += q.h
	}
	root.n = float64(m)
	tb.cover[root.node] = root.n
	t.bestSplit(root)
	leaves := []*growLeaf{root}
	// Histograms held by leaves at once: about 64 MiB of them (at least 16).
	held, maxHeld := 1, max(16, (64<<20)/(24*len(root.hist)))
	maxLeaves := t.prm.MaxLeaves
	if maxLeaves < 2 {
		maxLeaves = 2
	}
	for len(leaves) < maxLeaves {
		bi := -1
		for i, l := range leaves {
			if l.sp.feat >= 0 && l.sp.gain > 1e-12 && (bi < 0 || l.sp.gain > leaves[bi].sp.gain) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		l := leaves[bi]
		sp := l.sp
		mid := t.partition(l)
		nd := l.node
		tb.feature[nd] = int32(sp.feat)
		tb.binThr[nd] = sp.bin
		tb.thr[nd] = t.edges[sp.feat][sp.bin]
		tb.defL[nd] = sp.missLeft
		ln := &growLeaf{node: tb.add(), start: l.start, end: mid, g: sp.gl, h: sp.hl, n: float64(mid - l.start), depth: l.depth + 1}
		rn := &growLeaf{node: tb.add(), start: mid, end: l.end, g: l.g - sp.gl, h: l.h - sp.hl, n: float64(l.end - mid), depth: l.depth + 1}
		tb.left[nd] = int32(ln.node)
		tb.right[nd] = int32(rn.node)
		tb.cover[ln.node], tb.cover[rn.node] = ln.n, rn.n
		if !t.splittable(ln) && !t.splittable(rn) {
			// Neither child can split (depth or size): they need no histograms.
			ln.sp, rn.sp = splitInfo{feat: -1}, splitInfo{feat: -1}
			if l.hist != nil {
				t.pool = append(t.pool, l.hist)
				l.hist = nil
				held--
			}
			leaves[bi] = ln
			leaves = append(leaves, rn)
			continue
		}
		small, large := ln, rn
		if small.end-small.start > large.end-large.start {
			small, large = rn, ln
		}
		small.hist = t.getHist()
		t.buildHist(small.hist, t.idx[small.start:small.end])
		if l.hist != nil {
			// The larger child's histogram is the parent's minus the smaller child's.
			large.hist = l.hist
			t.subtractHist(large.hist, small.hist)
		} else {
			// The parent's histogram was given back to bound memory: build this one from its rows.
			large.hist = t.getHist()
			t.buildHist(large.hist, t.idx[large.start:large.end])
			held++
		}
		held++
		t.bestSplit(ln)
		t.bestSplit(rn)
		// A leaf that will not split needs no histogram; past the cap the new leaves give theirs
		// back and rebuild from their rows if they are split later (deep forest trees would
		// otherwise hold one histogram per leaf: gigabytes on 50k rows).
		for _, c := range [2]*growLeaf{ln, rn} {
			if c.sp.feat < 0 || c.sp.gain <= 1e-12 || held > maxHeld {
				t.pool = append(t.pool, c.hist)
				c.hist = nil
				held--
			}
		}
		leaves[bi] = ln
		leaves = append(leaves, rn)
	}
	lr := t.prm.LearningRate
	t.spans = t.spans[:0]
	for _, l := range leaves {
		v := -l.g / (l.h + t.prm.Lambda) * lr
		tb.value[l.node] = v
		t.spans = append(t.spans, leafSpan{start: l.start, end: l.end, value: v})
		if l.hist != nil {
			t.pool = append(t.pool, l.hist)
			l.hist = nil
		}
	}
	return tb
}

// gbdtFit trains boosted trees on xTrain (raw features with NaN for missing). y holds regression
// targets or 0/1 labels; yc class indices for multiclass. When rounds > 0 it trains exactly that
// many rounds without early stopping; otherwise it holds out a validation share for early stopping.
// It returns the ensemble and the number of rounds kept.
func gbdtFit(ctx context.Context, task Task, x *dense, y []float64, yc []int, k int, prm gbdtParams, rounds int, seed int64) (*mlv1.TreeEnsemble, int, error) {
	rng := rand.New(rand.NewSource(seed))
	n := x.n
	outs := 1
	if task == TaskMulticlass {
		outs = k
	}
	// validation split
	var trainRows, valRows []int
	perm := rng.Perm(n)
	if rounds <= 0 && prm.EarlyStop > 0 && n >= 60 {
		nv := n / 10
		if nv < 20 {
			nv = 20
		}
		valRows, trainRows = perm[:nv], perm[nv:]
		sort.Ints(valRows)
		sort.Ints(trainRows)
	} else {
		trainRows = make([]int, n)
		for i := range trainRows {
			trainRows[i] = i
		}
	}
	maxRounds := prm.MaxRounds
	if rounds > 0 {
		maxRounds = rounds
	}
	bn := fitBinnerRows(x, trainRows)
	allBins := bn.bin(x)
	nt := len(trainRows)
	t := &gbdtTrainer{prm: prm, edges: bn.edges, n: nt, p: x.p, rng: rng}
	t.bins = make([][]uint8, x.p)
	for j := range allBins {
		col := make([]uint8, nt)
		for i, r := range trainRows {
			col[i] = allBins[j][r]
		}
		t.bins[j] = col
	}
	var vbins [][]uint8
	if len(valRows) > 0 {
		vbins = make([][]uint8, x.p)
		for j := range allBins {
			col := make([]uint8, len(valRows))
			for i, r := range valRows {
				col[i] = allBins[j][r]
			}
			vbins[j] = col
		}
	}
	// The minimum leaf is capped at a tenth of the training rows, so that small data can still be
	// split at all. It was a twentieth: on the 113-142 rows of a small task's inner folds every
	// configuration's 10, 20 or 50 became 5-7, the search's most regularized trees could not be
	// had, and multiclass log loss suffered (wine 0.0671 with the twentieth, 0.0578 with the tenth,
	// bench/results/ml_automl.md).
	ml := float64(prm.MinSamplesLeaf)
	if lim := float64(nt / 10); ml > lim {
		ml = lim
	}
	if ml < 1 {
		ml = 1
	}
	t.minLeaf = ml
	// the rounds write the gradient pairs directly
	t.gh = make([]gpair, nt)
	t.ghReady = true
	t.idx = make([]int, nt)

	ty := make([]float64, nt)
	tyc := make([]int, nt)
	for i, r := range trainRows {
		if y != nil {
			ty[i] = y[r]
		}
		if yc != nil {
			tyc[i] = yc[r]
		}
	}
	base := make([]float64, outs)
	switch task {
	case TaskRegression:
		m, _ := meanStd(ty)
		base[0] = m
	case TaskBinary:
		var m float64
		for _, v := range ty {
			m += v
		}
		m = (m + 0.5) / (float64(nt) + 1)
		base[0] = math.Log(m / (1 - m))
	default:
		cnt := make([]float64, outs)
		for _, c := range tyc {
			cnt[c]++
		}
		for o := range cnt {
			base[o] = math.Log((cnt[o] + 0.5) / (float64(nt) + 0.5*float64(outs)))
		}
	}
	pred := make([][]float64, outs)
	for o := range pred {
		pred[o] = make([]float64, nt)
		for i := range pred[o] {
			pred[o][i] = base[o]
		}
	}
	nv := len(valRows)
	vpred := make([][]float64, outs)
	for o := range vpred {
		vpred[o] = make([]float64, nv)
		for i := range vpred[o] {
			vpred[o][i] = base[o]
		}
	}
	vy := make([]float64, nv)
	vyc := make([]int, nv)
	for i, r := range valRows {
		if y != nil {
			vy[i] = y[r]
		}
		if yc != nil {
			vyc[i] = yc[r]
		}
	}
	ens := &mlv1.TreeEnsemble{Outputs: int32(outs), BaseScores: base}
	bestLoss := math.Inf(1)
	bestRound := 0
	allFeats := make([]int, x.p)
	for j := range allFeats {
		allFeats[j] = j
	}
	prob := make([]float64, 0)
	if outs > 1 {
		prob = make([]float64, outs*nt)
	}
	for round := 0; round < maxRounds; round++ {
		if round%5 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		// row and column sampling
		m := nt
		for i := range t.idx {
			t.idx[i] = i
		}
		if prm.Subsample > 0 && prm.Subsample < 1 {
			m = int(prm.Subsample * float64(nt))
			if m < 2 {
				m = nt
			}
			for i := 0; i < m; i++ {
				j := i + rng.Intn(nt-i)
				t.idx[i], t.idx[j] = t.idx[j], t.idx[i]
			}
		}
		t.feats = allFeats
		if prm.Colsample > 0 && prm.Colsample < 1 && x.p > 1 {
			nf := int(math.Ceil(prm.Colsample * float64(x.p)))
			pf := rng.Perm(x.p)[:nf]
			sort.Ints(pf)
			t.feats = pf
		}
		if outs > 1 {
			for i := 0; i < nt; i++ {
				mx := math.Inf(-1)
				for o := 0; o < outs; o++ {
					mx = math.Max(mx, pred[o][i])
				}
				var s float64
				for o := 0; o < outs; o++ {
					e := math.Exp(pred[o][i] - mx)
					prob[o*nt+i] = e
					s += e
				}
				for o := 0; o < outs; o++ {
					prob[o*nt+i] /= s
				}
			}
		}
		trees := make([]*treeBuild, outs)
		for o := 0; o < outs; o++ {
			gh := t.gh[:nt]
			switch task {
			case TaskRegression:
				pr, ty := pred[0][:nt], ty[:nt]
				for i := range gh {
					gh[i] = gpair{pr[i] - ty[i], 1}
				}
			case TaskBinary:
				pz, ty := pred[0][:nt], ty[:nt]
				for i := range gh {
					pr := sigmoidFast(pz[i])
					h := pr * (1 - pr)
					if h < 1e-16 {
						h = 1e-16
					}
					gh[i] = gpair{pr - ty[i], h}
				}
			default:
				for i := range gh {
					pr := prob[o*nt+i]
					yv := 0.0
					if tyc[i] == o {
						yv = 1
					}
					gh[i] = gpair{pr - yv, math.Max(pr*(1-pr), 1e-16)}
				}
			}
			if m < nt {
				// keep idx[:m] as sampled rows; sort for memory locality
				sort.Ints(t.idx[:m])
			} else if o > 0 {
				// the last output's tree left idx in leaf order: back to row order, so that the
				// root reads its rows in place and every output sums in the same order
				for i := range t.idx {
					t.idx[i] = i
				}
			}
			tb := t.growTree(m)
			trees[o] = tb
			// The rows of each leaf are contiguous in idx[:m]: add the leaf values without walking
			// the tree (the multiclass gradients of the other outputs use prob, not pred). The rows
			// left out by subsampling are in idx[m:].
			po := pred[o]
			for _, sp := range t.spans {
				v := sp.value
				for _, r := range t.idx[sp.start:sp.end] {
					po[r] += v
				}
			}
			for _, r := range t.idx[m:] {
				po[r] += tb.leafBinned(t.bins, r)
			}
		}
		for o, tb := range trees {
			for i := 0; i < nv; i++ {
				vpred[o][i] += tb.leafBinned(vbins, i)
			}
			ens.Trees = append(ens.Trees, &mlv1.Tree{Feature: tb.feature, Threshold: tb.thr, Left: tb.left, Right: tb.right, Value: tb.value, DefaultLeft: tb.defL, Cover: tb.cover, Output: int32(o)})
		}
		if nv > 0 {
			loss := ensembleLoss(task, vpred, vy, vyc)
			if loss < bestLoss-1e-9 {
				bestLoss = loss
				bestRound = round + 1
			} else if round+1-bestRound >= prm.EarlyStop {
				break
			}
		} else {
			bestRound = round + 1
		}
	}
	ens.Trees = ens.Trees[:bestRound*outs]
	return ens, bestRound, nil
}

// sigmoidFast equals sigmoid without a branch on the sign of z.
func sigmoidFast(z float64) float64 {
	e := math.Exp(-math.Abs(z))
	num := 1.0
	if z < 0 {
		num = e
	}
	return num / (1 + e)
}

func fitBinnerRows(x *dense, rows []int) *binner {
	if len(rows) == x.n {
		return fitBinner(x)
	}
	sub := newDense(len(rows), x.p)
	for j, col := range x.cols {
		for i, r := range rows {
			sub.cols[j][i] = col[r]
		}
	}
	return fitBinner(sub)
}

func ensembleLoss(task Task, pred [][]float64, y []float64, yc []int) float64 {
	n := len(pred[0])
	var s float64
	switch task {
	case TaskRegression:
		for i := 0; i < n; i++ {
			d := pred[0][i] - y[i]
			s += d * d
		}
	case TaskBinary:
		for i := 0; i < n; i++ {
			z := pred[0][i]
			var l float64
			if z > 0 {
				l = z + math.Log1p(math.Exp(-z))
			} else {
				l = math.Log1p(math.Exp(z))
			}
			s += l - y[i]*z
		}
	default:
		k := len(pred)
		for i := 0; i < n; i++ {
			mx := math.Inf(-1)
			for o := 0; o < k; o++ {
				mx = math.Max(mx, pred[o][i])
			}
			var e float64
			for o := 0; o < k; o++ {
				e += math.Exp(pred[o][i] - mx)
			}
			s += mx + math.Log(e) - pred[yc[i]][i]
		}
	}
	return s / float64(n)
}

// treeScores returns outputs x n raw scores of the ensemble on raw features.
func treeScores(ens *mlv1.TreeEnsemble, x *dense) [][]float64 {
	outs := int(ens.Outputs)
	res := make([][]float64, outs)
	for o := range res {
		res[o] = make([]float64, x.n)
		for i := range res[o] {
			res[o][i] = ens.BaseScores[o]
		}
	}
	counts := make([]float64, outs)
	for _, tr := range ens.Trees {
		o := int(tr.Output)
		counts[o]++
		var cats map[int32]map[float64]bool
		if len(tr.CategorySplits) > 0 {
			cats = map[int32]map[float64]bool{}
			for _, cs := range tr.CategorySplits {
				set := map[float64]bool{}
				for _, v := range cs.LeftValues {
					set[v] = true
				}
				cats[cs.Node] = set
			}
		}
		out := res[o]
		if ens.Average {
			out = make([]float64, x.n)
		}
		for i := 0; i < x.n; i++ {
			nd := int32(0)
			for tr.Feature[nd] >= 0 {
				f := tr.Feature[nd]
				v := math.NaN()
				if int(f) < x.p {
					v = x.cols[f][i]
				}
				var left bool
				switch {
				case math.IsNaN(v):
					left = tr.DefaultLeft[nd]
				case cats != nil && cats[nd] != nil:
					left = cats[nd][v]
				default:
					left = v <= tr.Threshold[nd]
				}
				if left {
					nd = tr.Left[nd]
				} else {
					nd = tr.Right[nd]
				}
			}
			out[i] += tr.Value[nd]
		}
		if ens.Average {
			for i := range out {
				res[o][i] += out[i]
			}
		}
	}
	if ens.Average {
		for o := range res {
			if counts[o] > 0 {
				for i := range res[o] {
					res[o][i] = ens.BaseScores[o] + (res[o][i]-ens.BaseScores[o])/counts[o]
				}
			}
		}
	}
	return res
}
