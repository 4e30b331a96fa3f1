package learn

import (
	"context"
	"math"
	"math/rand"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Fully grown forest trees once held one histogram per leaf until the tree was done: 12 GB of heap
// for a forest on diamonds (6.6 GB RSS through the service). The tree grower now gives back the
// histograms of leaves that will not split and holds at most about 64 MiB of them.
func TestForestMemoryBounded(t *testing.T) {
	const n, p = 20000, 20
	rng := rand.New(rand.NewSource(1))
	x := newDense(n, p)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			x.cols[j][i] = rng.NormFloat64()
		}
		y[i] = math.Sin(x.cols[0][i]) + x.cols[1][i]*x.cols[2][i] + rng.NormFloat64()
	}
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	ens, err := forestFit(context.Background(), TaskRegression, x, y, nil, 0, forestParams{Trees: 2, MinLeaf: 1, MaxFeatures: 1}, 1)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	leaves := 0
	for _, tr := range ens.Trees {
		for _, f := range tr.Feature {
			if f < 0 {
				leaves++
			}
		}
	}
	t.Logf("%d trees, %d leaves; peak heap in use %d MB", len(ens.Trees), leaves, peak.Load()>>20)
	// Each histogram is p x 256 bins x 3 floats (about 120 KB): one per leaf would be over 1 GB.
	if leaves < 2*5000 {
		t.Fatalf("only %d leaves: the trees are not grown out, so the test checks nothing", leaves)
	}
	if pk := peak.Load(); pk > 400<<20 {
		t.Errorf("growing two full trees on %d x %d peaked at %d MB of heap, want under 400 MB", n, p, pk>>20)
	}
}
