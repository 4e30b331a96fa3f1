// Package shareddata locates the read-only example datasets that tests and benchmarks read in place.
// The folder is VDS_SHARED_DATA when set, otherwise ../shared/data beside the repository root.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared data folder, or "" when it cannot be found.
func Dir() string {
	if d := os.Getenv("VDS_SHARED_DATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "data")
			if _, err := os.Stat(d); err == nil {
				return d
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Path returns the path of a shared file (e.g. "tabular/iris.csv"). When the folder is missing the
// test is skipped outside CI and fails in CI (CI=true), where the data must be present.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared data folder not found (set VDS_SHARED_DATA); needed for %s", rel)
		}
		tb.Skipf("shared data folder not found (set VDS_SHARED_DATA); skipping %s", rel)
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data file %s: %v", rel, err)
	}
	return p
}
