package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

func TestAskUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"ask"}, "needs a data file or dataset ID and a question"},
		{[]string{"ask", "x.csv"}, "needs a data file or dataset ID and a question"},
		{[]string{"ask", "x.csv", "  "}, "the question is empty"},
		{[]string{"ask", "x.csv", "q", "--format", "xml"}, "--format must be one of json, text"},
		{[]string{"ask", "x.csv", "q", "--planner", "magic"},
			`--planner must be one of builtin, llm, not "magic"; leave it out for the default (llm when the server has an LLM endpoint configured, else builtin)`},
	} {
		code, _, errs := cli(t, 10*time.Second, c.args...)
		if code != 2 || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, code, errs, c.msg)
		}
	}
}

// vds ask uploads the file, streams the events to stderr, prints the JSON answer with named numbers,
// and continues the conversation with --conversation (an ask-back answered by its reply).
func TestAskTips(t *testing.T) {
	home, addr := platform(t)
	file := shareddata.Path(t, "tabular/tips.csv")
	code, out, errs := cli(t, 2*time.Minute, "ask", file, "What is the average tip by day?", "--format", "json", "--server", addr, "--home", home, "--planner", "builtin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var a askJSON
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("stdout is not the JSON answer: %v\n%s", err, out)
	}
	// pandas: tips.groupby("day").tip.mean()["Sun"] = 3.2551315789473683
	if v := a.Values["mean(tip)|day=Sun"]; math.Abs(v-3.2551315789473683) > 1e-9 || a.Intent != "compare_groups" || len(a.Charts) == 0 {
		t.Fatalf("answer %+v", a)
	}
	for _, want := range []string{"plan: Intent compare_groups", "tool run_sql", "[skeptic]", "[engineer]", "answer (confidence"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	// A long question (250 characters, 2 bytes each for the accents) starts its conversation too: the
	// title made from it is shortened (the orchestrator allows 200 characters), the question is not.
	long := "What is the average tip by day? Asking for a report on the café's " + strings.Repeat("é", 184)
	if code, out, errs := cli(t, time.Minute, "ask", file, long, "--server", addr, "--home", home, "--quiet"); code != 0 || !strings.Contains(out, "Sun 3.255") {
		t.Errorf("long question: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = cli(t, time.Minute, "ask", "--conversation", a.ConversationID, "What is the average?", "--server", addr, "--home", home, "--format", "json")
	if code != 0 || !strings.Contains(out, `"intent": "clarify"`) {
		t.Fatalf("ask-back: exit %d, %s %s", code, out, errs)
	}
	code, out, errs = cli(t, time.Minute, "ask", "--conversation", a.ConversationID, "the total bill", "--server", addr, "--home", home)
	// pandas: tips.total_bill.mean() = 19.78594262295082
	if code != 0 || !strings.Contains(out, "mean(total_bill) = 19.7859") {
		t.Fatalf("reply: exit %d, %s %s", code, out, errs)
	}
	// A question that is not understood (an ask-back with nothing to choose from) exits 1 and says what works;
	// an ask-back that offers columns ("What is the average?" above) exits 0.
	// "mean price by borough" names columns tips does not have: the answer says so.
	for _, q := range []string{"purple monkey dishwasher", "What is the trend of tip?", "mean price by borough"} {
		code, out, errs = cli(t, time.Minute, "ask", "--conversation", a.ConversationID, q, "--server", addr, "--home", home, "--quiet")
		if code != 1 || !strings.Contains(errs, "not understood") || !strings.Contains(errs, "a comparison") || strings.Contains(out, "Candidates: .") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 saying it was not understood", q, code, out, errs)
		}
		if strings.Contains(q, "borough") && !strings.Contains(out, "no columns named `price` or `borough`") {
			t.Errorf("%q: stdout %q does not name the unknown columns", q, out)
		}
	}
}

// vds ask "DROP TABLE tips; --" is not answered as an analysis: the answer says it is a SQL
// statement that was not run, no plan or tool ran, and the exit status is not success.
func TestAskSQLStatement(t *testing.T) {
	home, addr := platform(t)
	file := shareddata.Path(t, "tabular/tips.csv")
	code, out, errs := cli(t, time.Minute, "ask", file, "DROP TABLE tips; --", "--server", addr, "--home", home, "--planner", "builtin")
	if code != 1 || !strings.Contains(out, "That is a SQL statement, not a question about the data, so I did not run it") ||
		strings.Contains(errs, "plan:") || strings.Contains(errs, "tool ") ||
		!strings.Contains(errs, "that was SQL, not a question about the data, so nothing was run") || strings.Contains(errs, "not understood") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// A question that is understood but whose analysis fails (an effect of a 93-valued treatment) says
// the analysis failed, not that the question was not understood.
func TestAskAnalysisFailed(t *testing.T) {
	home, addr := platform(t)
	file := shareddata.Path(t, "tabular/titanic.csv")
	code, out, errs := cli(t, 2*time.Minute, "ask", file, "Does a higher fare increase survival?", "--server", addr, "--home", home, "--planner", "builtin", "--quiet")
	if code != 1 || !strings.Contains(out, "The analysis failed") || !strings.Contains(errs, "understood but its analysis failed") || strings.Contains(errs, "not understood") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
