package server

import (
	"testing"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

func TestSelectionScope(t *testing.T) {
	sels := []*orchestratorv1.Selection{
		{Field: "Contract", Values: []string{"Month-to-month", "One year"}},
		{Field: "tenure", RangeLow: 12, RangeHigh: 24.5},
	}
	scope := selectionScope(sels)
	if want := "Contract = Month-to-month or One year and 12 ≤ tenure ≤ 24.5"; scope != want {
		t.Fatalf("scope %q, want %q", scope, want)
	}
	if got := scopedAnswer("", false, "x"); got != "x" {
		t.Errorf("no selection: %q", got)
	}
	a := scopedAnswer("tenure ≥ 1", false, "Mean 3.")
	if a != "Over the selected rows (tenure ≥ 1): Mean 3." || scopedAnswer("tenure ≥ 1", false, a) != a {
		t.Errorf("scoped answer %q (or prefixed twice)", a)
	}
	if got := scopedAnswer("a = b", true, "Churn."); got != "Over the selected rows (a = b; the model and effect estimates use every row): Churn." {
		t.Errorf("with a model: %q", got)
	}
}
