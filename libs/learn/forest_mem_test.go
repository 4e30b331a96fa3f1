package learn

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

// Fully grown forest trees once held one histogram per leaf until the tree was done: 12 GB of heap
// on all 54k rows of diamonds (6.6 GB RSS through the service), about 4 GB on the third of them
// used here; the tree grower now keeps at most about 64 MiB of them (under 1 GB of heap in all).
func TestForestMemoryBounded(t *testing.T) {
	f := readCSV(t, shareddata.Path(t, "tabular/diamonds.csv"))
	var rows []int
	for i := 0; i < f.Rows; i += 3 {
		rows = append(rows, i)
	}
	f = subFrame(f, rows)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	r, err := AutoML(context.Background(), f, Options{Target: "price", Budget: 5 * time.Second, Seed: 1,
		Algorithms: []string{AlgoRandomForest, AlgoExtraTrees}})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best %s r2 %.4f over %d trials; peak heap in use %d MB", r.Leaderboard[0].Algorithm, r.Leaderboard[0].Metrics["r2"], len(r.Leaderboard), peak.Load()>>20)
	if p := peak.Load(); p > 2<<30 {
		t.Errorf("forest training on diamonds peaked at %d MB of heap, want under 2 GB", p>>20)
	}
	if r.Leaderboard[0].Metrics["r2"] < 0.95 {
		t.Errorf("forest r2 %.4f on diamonds, want at least 0.95", r.Leaderboard[0].Metrics["r2"])
	}
}
