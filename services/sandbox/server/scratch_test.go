package server

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestScratchSweep: at start the Python work folder and the SQL spill folder are emptied, the
// spill folders older builds made in the cache folder and the cache files left half-written are
// removed, and the cached dataset versions are kept; at shutdown the work and spill folders go.
func TestScratchSweep(t *testing.T) {
	home := t.TempDir()
	sc := scratchOf(home)
	write := func(rel string) string { return plantFile(t, home, rel) }
	stale := []string{
		filepath.Join(home, "run/sandbox/sbx-1"), filepath.Join(home, "run/sandbox/runner.py"),
		filepath.Join(home, "run/sandbox-sql/duck-sql-1"),
		filepath.Join(home, "cache/sandbox/duck-sql-2"), filepath.Join(home, "cache/sandbox/ds_a.v1.parquet.part-x"),
	}
	write("run/sandbox/sbx-1/in/t.csv")
	write("run/sandbox/runner.py")
	write("run/sandbox-sql/duck-sql-1/blocks")
	write("cache/sandbox/duck-sql-2/blocks")
	write("cache/sandbox/ds_a.v1.parquet.part-x")
	kept := []string{write("cache/sandbox/ds_a.v1.parquet"), write("cache/sandbox/ds_a.v1.csv"), write("cache/sandbox/ds_a.v1.csv.columns.json")}

	removed, err := sc.sweep()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, p := range stale {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
	for _, p := range append(kept, sc.spill, sc.cache) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("kept: %v", err)
		}
	}
	// A first start, on an empty home, makes the folders and removes nothing.
	if removed, err := scratchOf(t.TempDir()).sweep(); err != nil || len(removed) != 0 {
		t.Errorf("first start: removed %v, %v", removed, err)
	}

	sc.remove()
	for _, p := range []string{sc.work, sc.spill} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("after the shutdown %s is still there (%v)", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after the shutdown: %v", err)
		}
	}
}

// plantFile writes a small file at home/rel, making its folders, and returns its path: what an
// earlier process left, or a cached file.
func plantFile(t *testing.T, home, rel string) string {
	t.Helper()
	p := filepath.Join(home, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
