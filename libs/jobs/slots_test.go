package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vdsproject/vds/libs/natsembed"
)

// TestSlotsBoundConcurrency: eight holders in two "processes" (two connections) compete for the
// slots of one user (limit 2) and of everyone (limit 3); at no moment are more held than the limits,
// and the limits are reached. A holder that dies without releasing frees its slot after the TTL, and
// a refreshed slot is kept past it.
func TestSlotsBoundConcurrency(t *testing.T) {
	ns, err := natsembed.Start(filepath.Join(t.TempDir(), "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ctx := context.Background()
	const ttl = 2 * time.Second
	var procs [2]*Slots
	for i := range procs {
		nc, err := nats.Connect(ns.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if procs[i], err = NewSlots(ctx, nc, "TEST_SLOTS", ttl); err != nil {
			t.Fatal(err)
		}
	}
	var perUser [2]atomic.Int32 // users u0, u1
	var total atomic.Int32
	var maxUser [2]atomic.Int32
	var maxTotal atomic.Int32
	raise := func(m *atomic.Int32, v int32) {
		for {
			old := m.Load()
			if v <= old || m.CompareAndSwap(old, v) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	var acquired atomic.Int32
	for h := 0; h < 8; h++ {
		wg.Add(1)
		go func(h int) {
			defer wg.Done()
			s, u := procs[h%2], h%2
			for n := 0; n < 6; {
				ul, err := s.TryAcquire(ctx, fmt.Sprintf("user-u%d", u), 2, fmt.Sprint(h))
				if err != nil {
					t.Error(err)
					return
				}
				if ul == nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				gl, err := s.TryAcquire(ctx, "all", 3, fmt.Sprint(h))
				if err != nil || gl == nil {
					_ = ul.Release(ctx)
					time.Sleep(5 * time.Millisecond)
					continue
				}
				raise(&maxUser[u], perUser[u].Add(1))
				raise(&maxTotal, total.Add(1))
				time.Sleep(20 * time.Millisecond)
				perUser[u].Add(-1)
				total.Add(-1)
				_ = gl.Release(ctx)
				_ = ul.Release(ctx)
				acquired.Add(1)
				n++
			}
		}(h)
	}
	wg.Wait()
	t.Logf("%d acquisitions; most held at once: u0 %d, u1 %d, total %d", acquired.Load(), maxUser[0].Load(), maxUser[1].Load(), maxTotal.Load())
	if acquired.Load() != 48 {
		t.Fatalf("%d acquisitions, want 48", acquired.Load())
	}
	if maxUser[0].Load() != 2 || maxUser[1].Load() != 2 || maxTotal.Load() != 3 {
		t.Errorf("most held at once: u0 %d u1 %d total %d; want exactly the limits 2, 2, 3", maxUser[0].Load(), maxUser[1].Load(), maxTotal.Load())
	}

	// A dead holder: two slots taken and never released nor refreshed.
	for i := 0; i < 2; i++ {
		if l, err := procs[0].TryAcquire(ctx, "dead", 2, "gone"); err != nil || l == nil {
			t.Fatalf("acquire %d: %v %v", i, l, err)
		}
	}
	if l, err := procs[1].TryAcquire(ctx, "dead", 2, "next"); err != nil || l != nil {
		t.Fatalf("a third slot of two: %v %v", l, err)
	}
	// A live holder refreshing its only slot.
	live, err := procs[0].TryAcquire(ctx, "live", 1, "alive")
	if err != nil || live == nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(ttl + 3*time.Second)
	freed := time.Duration(0)
	t0 := time.Now()
	for time.Now().Before(deadline) {
		if err := live.Refresh(ctx); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if freed == 0 {
			if l, err := procs[1].TryAcquire(ctx, "dead", 2, "next"); err != nil {
				t.Fatal(err)
			} else if l != nil {
				freed = time.Since(t0)
			}
		}
		time.Sleep(ttl / 5)
	}
	if freed == 0 || freed < ttl/2 {
		t.Errorf("a dead holder's slot was freed after %v, want about the TTL %v", freed, ttl)
	}
	if l, err := procs[1].TryAcquire(ctx, "live", 1, "thief"); err != nil || l != nil {
		t.Errorf("a refreshed slot was taken after %v: %v %v", time.Since(t0), l, err)
	}
	if err := live.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := procs[1].TryAcquire(ctx, "live", 1, "next"); err != nil || l == nil {
		t.Errorf("a released slot is not free: %v %v", l, err)
	}
}
