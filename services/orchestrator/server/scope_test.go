package server

import (
	"strings"
	"testing"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/planner"
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

func TestNotAnalysisQuestion(t *testing.T) {
	sch := &planner.Schema{Columns: []planner.Column{{Name: "tip"}, {Name: "day"}}}
	for q, want := range map[string]bool{
		"DROP TABLE tips; --": true, "  drop table if exists tips": true, "TRUNCATE TABLE tips": true, "delete from tips": true,
		"INSERT INTO tips VALUES (1)": true, "update tips set tip = 0": true, "ALTER TABLE tips ADD x int": true,
		"create or replace table t as select 1": true, "ATTACH 'x.db'": true, "what is the tip?; -- ok": true,
		"What is the average tip by day?": false, "Why do some tables drop off?": false, "Delete outliers from the tip and show the mean": false,
		"How many updates per day?": false, "create a chart of tip by day": false, "Can you drop the outliers and compare tips by day?": false,
	} {
		got := notAnalysisQuestion(q, sch)
		if (got != "") != want {
			t.Errorf("%q: %q, want refused %v", q, got, want)
		}
		if want && !strings.Contains(got, "the columns are: tip, day.") {
			t.Errorf("%q: %q does not list the columns", q, got)
		}
	}
}
