package platform

import (
	"bytes"
	"sync"
	"testing"
)

// TestMeshKeyConcurrentFirstStart: services starting together on a fresh home all get the same,
// complete key (a half-written key file used to be read as corrupt).
func TestMeshKeyConcurrentFirstStart(t *testing.T) {
	for round := 0; round < 20; round++ {
		home := t.TempDir()
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], errs[i] = MeshKey(home, "")
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, service %d: %v", round, i, errs[i])
			}
			if len(keys[i]) != 32 || !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: service %d got a different key", round, i)
			}
		}
	}
}
