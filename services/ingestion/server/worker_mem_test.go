package server

import (
	"errors"
	"strings"
	"testing"
)

func TestExplainMemory(t *testing.T) {
	duck := errors.New("read header: Out of Memory Error: failed to allocate data of size 32.0 KiB (244.0 MiB/244.1 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)")
	got := explainMemory(duck, "256MB").Error()
	for _, want := range []string{"256MB", "--duckdb-memory", "VDS_DUCKDB_MEMORY", "failed to allocate"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not mention %q", got, want)
		}
	}
	if strings.Contains(got, "SET threads") || strings.Contains(got, "\n") {
		t.Errorf("DuckDB's tuning advice leaked into the message: %q", got)
	}
	other := errors.New("no rows")
	if explainMemory(other, "256MB") != other {
		t.Error("other errors must pass through unchanged")
	}
}
