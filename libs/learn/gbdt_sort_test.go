package learn

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

// TestSortFloatsMatchesSort checks the binner's radix sort against sort.Float64s on values with
// duplicates, both signs, infinities, subnormals and few distinct values.
func TestSortFloatsMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	gens := map[string]func() float64{
		"normal": func() float64 { return rng.NormFloat64() * 1e3 },
		"ints":   func() float64 { return float64(rng.Intn(7) - 3) },
		"wide":   func() float64 { return math.Ldexp(rng.Float64()-0.5, rng.Intn(2000)-1000) },
		"special": func() float64 {
			return []float64{math.Inf(1), math.Inf(-1), 5e-324, -5e-324, 1, -1, math.MaxFloat64}[rng.Intn(7)]
		},
		"positive": func() float64 { return rng.Float64() },
	}
	var tmp []uint64
	for name, g := range gens {
		for _, n := range []int{0, 1, 255, 256, 1000, 20000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = g()
			}
			want := append([]float64(nil), v...)
			sort.Float64s(want)
			tmp = sortFloats(v, tmp)
			for i := range v {
				if v[i] != want[i] {
					t.Fatalf("%s n=%d: at %d got %v want %v", name, n, i, v[i], want[i])
				}
			}
		}
	}
	// negative zero sorts before zero
	v := make([]float64, 300)
	for i := range v {
		if i%2 == 0 {
			v[i] = math.Copysign(0, -1)
		}
	}
	sortFloats(v, nil)
	if !math.Signbit(v[0]) || !math.Signbit(v[149]) || math.Signbit(v[150]) {
		t.Fatalf("zeros not ordered: %v %v %v", v[0], v[149], v[150])
	}
}
