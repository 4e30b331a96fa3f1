package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

// vds analyze with a target column that has no values (all_null_column.csv's empty_col) is refused
// when the analysis is asked for, before any analysis job starts: InvalidArgument naming the
// column, saying it has no values and listing the columns that could be targets.
func TestAnalyzeRefusesEmptyTarget(t *testing.T) {
	t.Parallel()
	home, addr := platform(t)
	code, _, errs := cli(t, 2*time.Minute, "analyze", shareddata.Path(t, "messy/all_null_column.csv"), "--target", "empty_col",
		"--format", "json", "--server", addr, "--home", home, "--no-progress", "--budget", "3s")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errs)
	}
	for _, want := range []string{`analysis: target: column "empty_col" has no values (all 200 rows are missing)`, "columns that could be targets: score"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	// Refused by StartAnalysis itself, not by a job that failed partway ("analysis failed: ...").
	if strings.Contains(errs, "analysis failed") || strings.Contains(errs, "train") {
		t.Errorf("stderr %q: the analysis started before failing", errs)
	}
}
