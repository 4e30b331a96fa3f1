package stats

import (
	"math"
	"slices"
	"unsafe"
)

// radixMin is the length from which the radix sorts beat pdqsort.
const radixMin = 2048

// floatKey maps a float64 to a uint64 whose unsigned order is the numeric order (no NaN).
func floatKey(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func keyFloat(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// SortFloat64s sorts NaN-free values ascending in place: an LSD radix sort (6 passes of 11 bits,
// skipping passes where every key shares the digit) for long slices, pdqsort for short ones.
func SortFloat64s(x []float64) {
	n := len(x)
	if n < radixMin {
		slices.Sort(x)
		return
	}
	if countingSort(x) {
		return
	}
	// Sort the keys in x's own memory (float64 and uint64 have the same size and alignment).
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), n)
	for i, v := range x {
		keys[i] = floatKey(v)
	}
	SortUint64s(keys)
	for i, k := range keys {
		x[i] = keyFloat(k)
	}
}

// countingSort sorts x in place when every value is an integer in a range no wider than a quarter
// of the length (counts, flags, ages, rounded measurements): two passes instead of a radix sort's
// eight. It reports false, leaving x untouched, otherwise. Negative zero comes back as zero.
func countingSort(x []float64) bool {
	lo, hi := x[0], x[0]
	for _, v := range x {
		if v != math.Trunc(v) {
			return false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	width := hi - lo + 1
	if !(width <= float64(len(x)/4)) || width > 1<<22 {
		return false
	}
	counts := make([]int32, int(width))
	for _, v := range x {
		counts[int(v-lo)]++
	}
	i := 0
	for k, c := range counts {
		v := lo + float64(k)
		for ; c > 0; c-- {
			x[i] = v
			i++
		}
	}
	return true
}

const (
	digitBits = 11
	digits    = 1 << digitBits
	passes    = (64 + digitBits - 1) / digitBits
)

// SortUint64s unrolls its histogram loop for exactly six passes.
var _ = [1]struct{}{}[passes-6]

// SortUint64s sorts in place with an LSD radix sort (pdqsort for short slices).
func SortUint64s(keys []uint64) {
	n := len(keys)
	if n < radixMin {
		slices.Sort(keys)
		return
	}
	if n > math.MaxUint32 {
		slices.Sort(keys)
		return
	}
	// All six digit histograms in one pass, unrolled (the loop over passes kept the counts from
	// staying in registers' reach and cost about 40% of the sort); 32-bit counts halve their cache
	// footprint.
	var counts [passes][digits]uint32
	c0, c1, c2, c3, c4, c5 := &counts[0], &counts[1], &counts[2], &counts[3], &counts[4], &counts[5]
	for _, k := range keys {
		c0[k&(digits-1)]++
		c1[(k>>digitBits)&(digits-1)]++
		c2[(k>>(2*digitBits))&(digits-1)]++
		c3[(k>>(3*digitBits))&(digits-1)]++
		c4[(k>>(4*digitBits))&(digits-1)]++
		c5[(k>>(5*digitBits))&(digits-1)]++
	}
	tmp := make([]uint64, n)
	src, dst := keys, tmp
	for p := 0; p < passes; p++ {
		c := &counts[p]
		shift := uint(digitBits * p)
		if int(c[(src[0]>>shift)&(digits-1)]) == n {
			continue // all keys share this digit
		}
		var sum uint32
		for d := 0; d < digits; d++ {
			c[d], sum = sum, sum+c[d]
		}
		out := dst[:n]
		for _, k := range src[:n] {
			d := (k >> shift) & (digits - 1)
			out[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// argsort returns the indices that sort NaN-free x ascending (stable).
func argsort(x []float64) []int32 {
	n := len(x)
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	if n < radixMin {
		slices.SortStableFunc(idx, func(a, b int32) int {
			switch {
			case x[a] < x[b]:
				return -1
			case x[a] > x[b]:
				return 1
			}
			return 0
		})
		return idx
	}
	keys := make([]uint64, n)
	for i, v := range x {
		keys[i] = floatKey(v)
	}
	var counts [8][256]int
	for _, k := range keys {
		for p := 0; p < 8; p++ {
			counts[p][byte(k>>(8*p))]++
		}
	}
	tmp := make([]int32, n)
	src, dst := idx, tmp
	for p := 0; p < 8; p++ {
		c := &counts[p]
		if c[byte(keys[0]>>(8*p))] == n {
			continue
		}
		sum := 0
		for d := 0; d < 256; d++ {
			c[d], sum = sum, sum+c[d]
		}
		shift := uint(8 * p)
		for _, i := range src {
			d := byte(keys[i] >> shift)
			dst[c[d]] = i
			c[d]++
		}
		src, dst = dst, src
	}
	return src
}
