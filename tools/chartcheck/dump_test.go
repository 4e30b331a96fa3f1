package chartcheck

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// TestDump writes the default rendering to $CHARTCHECK_DUMP (for reading it; skipped otherwise).
func TestDump(t *testing.T) {
	path := os.Getenv("CHARTCHECK_DUMP")
	if path == "" {
		t.Skip("set CHARTCHECK_DUMP=file to write the rendered manifests")
	}
	out, _, err := Render(chartDir(t), valuesFile(t, os.Getenv("CHARTCHECK_VALUES")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString("# Source: " + n + "\n" + out[n] + "\n---\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
