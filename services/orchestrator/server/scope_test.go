package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

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
		"create or replace table t as select 1": true, "ATTACH 'x.db'": true, "attach database 'other.db' as o": true,
		"GRANT SELECT ON tips TO bob": true, "revoke all privileges on tips from bob": true, "DETACH other": true,
		"VACUUM": true, "vacuum;": true, "VACUUM ANALYZE": true, "vacuum tips;": true, "copy tips to 'out.csv'": true,
		"SELECT * FROM tips; -- x": true, "with t as (select 1) select * from t; --": true,
		"Sun'; DROP TABLE tips; --": true, "tip by day'; --": true, "average tip; drop table tips": true,
		"What is the average tip by day?": false, "Why do some tables drop off?": false, "Delete outliers from the tip and show the mean": false,
		"How many updates per day?": false, "create a chart of tip by day": false, "Can you drop the outliers and compare tips by day?": false,
		// English that begins like SQL, or has "; --" without a statement before it.
		"Grant amounts by department?": false, "vacuum sales by month": false, "attach rate by region": false,
		"what is the tip?; -- ok": false, "Which day has the best tips; -- asking for a friend": false,
		"Revoke rates by month?": false, "copy sales to a spreadsheet by month?": false, "detach rate by region and month": false,
		// The shape of DDL or DML, but English: DuckDB's parser does not take them.
		"Update rate set by region?": false, "Create table of average tip by day": false, "Drop table rows with missing tip?": false,
		"Delete from the data the outliers, then average tip": false, "Compare tips by day; drop table rows with nulls first": false,
		"Insert into the report the mean tip": false,
		// A read-only query is refused too (with its own message, below); English that starts
		// like one is not.
		"SELECT * FROM tips": true, "select day, avg(tip) from tips group by day": true,
		"Select the best day for tips": false, "From which day are the tips highest?": false, "With smokers, is the tip higher?": false,
	} {
		got := notAnalysisQuestion(context.Background(), q, sch)
		if (got != "") != want {
			t.Errorf("%q: %q, want refused %v", q, got, want)
		}
		if want && !strings.Contains(got, "the columns are: tip, day.") {
			t.Errorf("%q: %q does not list the columns", q, got)
		}
		if want && strings.HasPrefix(strings.ToLower(q), "select") && !strings.Contains(q, ";") && !strings.Contains(got, "That is a SQL query, not a question in words") {
			t.Errorf("%q: %q, want the answer for a query", q, got)
		}
	}
}

// TestInsertExchangeKeepsAskedOrder: exchanges are stored in the order of their questions'
// sequence numbers (given when each question arrived), whatever order they finish in — also when
// the questions arrived at the same instant (the times were the order before, and a tie kept the
// finishing order). Messages from before sequence numbers stay first.
func TestInsertExchangeKeepsAskedOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := func(role, text string, seq int32) *orchestratorv1.Message {
		return &orchestratorv1.Message{Role: role, Text: text, Sequence: seq, CreateTime: timestamppb.New(t0)} // one instant for all
	}
	// Two exchanges stored before sequence numbers existed.
	msgs := []*orchestratorv1.Message{msg("user", "old1", 0), msg("assistant", "olda1", 0), msg("user", "old2", 0), msg("assistant", "olda2", 0)}
	c := &orchestratorv1.Conversation{Messages: msgs}
	if got := lastSequence(c); got != 2 {
		t.Errorf("last sequence of a conversation from before sequence numbers with 2 questions: %d, want 2", got)
	}
	// Asked q3, q4, q5; they finish q4, q5, q3.
	msgs = insertExchange(msgs, msg("user", "q4", 4), msg("assistant", "a4", 4))
	msgs = insertExchange(msgs, msg("user", "q5", 5), msg("assistant", "a5", 5))
	msgs = insertExchange(msgs, msg("user", "q3", 3), msg("assistant", "a3", 3))
	// q6 asked after all, finishing last, goes at the end.
	msgs = insertExchange(msgs, msg("user", "q6", 6), msg("assistant", "a6", 6))
	var got []string
	for _, m := range msgs {
		got = append(got, m.Text)
	}
	if want := "old1 olda1 old2 olda2 q3 a3 q4 a4 q5 a5 q6 a6"; strings.Join(got, " ") != want {
		t.Errorf("stored %v, want %s", got, want)
	}
	// A question in progress has its number before it is stored: the conversation's last_sequence.
	c = &orchestratorv1.Conversation{Messages: msgs, LastSequence: 8}
	if got := lastSequence(c); got != 8 {
		t.Errorf("last sequence with two questions in progress: %d, want 8", got)
	}
}

// TestBeatsBaseline: a model beats its baseline by more than twice the standard error of its fold
// mean (and 1% of the baseline). Tips' tip model (RMSE 1.047 ± 0.17 over 5 folds against the
// mean's 1.384) does; a model within noise of the mean (all_null_column.csv: 28.27 ± 1.1 against
// 28.32) does not; likewise for ROC AUC against chance.
func TestBeatsBaseline(t *testing.T) {
	for _, tc := range []struct {
		metric  string
		cv, std float64
		folds   int
		base    float64
		want    bool
	}{
		{"rmse", 1.047, 0.17, 5, 1.384, true},
		{"rmse", 28.27, 1.1, 5, 28.32, false},
		{"rmse", 1.38, 0.001, 5, 1.384, false}, // under 1% of the baseline
		{"log_loss", 0.30, 0.05, 5, 1.09, true},
		{"roc_auc", 0.85, 0.01, 5, 0.5, true},
		{"roc_auc", 0.505, 0.03, 5, 0.5, false},
		{"roc_auc", 0.56, 0.08, 3, 0.5, false}, // 2 x 0.08/sqrt(3) = 0.092 > 0.06
	} {
		if got := beatsBaseline(tc.metric, tc.cv, tc.std, tc.folds, tc.base); got != tc.want {
			t.Errorf("%s %v ± %v (%d folds) vs %v: %v, want %v", tc.metric, tc.cv, tc.std, tc.folds, tc.base, got, tc.want)
		}
	}
}

// TestSummaryWeakSignal: a binary model that beats chance by more than its noise but stays under a
// ROC AUC of 0.6 is reported with the caveat (constant_and_string_target.csv: 0.550 ± 0.052 and
// one driver, once called "The strongest drivers are feature."); a strong model names its drivers.
func TestSummaryWeakSignal(t *testing.T) {
	for _, tc := range []struct {
		auc, std float64
		drivers  []string
		want     string
		warn     bool
	}{
		{0.550, 0.052, []string{"feature"}, "The signal is weak: a ROC AUC under 0.6 separates the classes only slightly better than chance, so read the drivers with caution (the strongest driver is feature).", true},
		{0.505, 0.03, []string{"feature"}, "The best model is no better than chance", true},
		{0.85, 0.01, []string{"Contract", "tenure"}, "The strongest drivers are Contract, tenure.", false},
		{0.85, 0.01, []string{"Contract"}, "The strongest driver is Contract.", false},
	} {
		rep := &orchestratorv1.AnalysisReport{Dataset: &orchestratorv1.ReportDataset{Name: "d.csv", RowCount: 100, ColumnCount: 3}, Target: "label", PositiveClass: "yes",
			Model: &orchestratorv1.ReportModel{Task: "binary", Metric: "roc_auc", Algorithm: "gbdt", CvFolds: 5, CvScore: tc.auc, CvStd: tc.std}}
		for _, d := range tc.drivers {
			rep.Drivers = append(rep.Drivers, &orchestratorv1.Driver{Feature: d, Importance: 0.02})
		}
		a := &analysis{rep: rep}
		if err := a.summarise(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rep.Summary, tc.want) || (len(rep.Warnings) > 0) != tc.warn {
			t.Errorf("AUC %.3f ± %.3f: summary %q, warnings %v; want %q (warning %v)", tc.auc, tc.std, rep.Summary, rep.Warnings, tc.want, tc.warn)
		}
	}
}

// TestFDRFinding: the report's multiple-testing finding says the hypotheses passed the correction,
// not that they "survived" (which reads as the target in a titanic report, whose target is survived).
func TestFDRFinding(t *testing.T) {
	f := fdrFinding(30, 12)
	want := "12 of 30 hypotheses passed the multiple-testing correction (Benjamini-Hochberg, false-discovery rate 5%)."
	if f.Statement != want || f.Test != "benjamini_hochberg" || len(f.Values) != 3 ||
		f.Values["tested"] != 30 || f.Values["passed"] != 12 || f.Values["fdr"] != 0.05 {
		t.Errorf("finding %q (%s) %v, want %q with tested=30, passed=12, fdr=0.05", f.Statement, f.Test, f.Values, want)
	}
}
