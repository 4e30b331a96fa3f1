package planner

import (
	"context"
	"strings"
	"testing"
)

// TestRecognizeConditions holds the misreads of a new-user test of `vds ask`: conditions on rows,
// "which X has the highest Y", and two values of one column, which were dropped or misread (the
// answers were about all rows, or another column, with high confidence).
func TestRecognizeConditions(t *testing.T) {
	for _, tc := range []struct {
		s    *Schema
		q    string
		want string
	}{
		{tips(), "Which day has the highest average total_bill?", "compare_groups measure=total_bill agg=mean group=day"},
		{tips(), "What is the total tip on Sunday?", "describe measure=tip agg=sum where=day=Sun"},
		{titanicSchema(), "What is the median fare for women?", "describe measure=fare agg=median where=sex=female"},
		{titanicSchema(), "Did women survive more than men?", "compare_groups measure=survived agg=rate group=sex"},
		{tips(), "How many bills had a tip above 5?", "describe measure=total_bill agg=count where=tip>5"},
		{tips(), "What is the average tip at dinner on Saturday?", "describe measure=tip agg=mean where=day=Sat where=time=Dinner"},
		{titanicSchema(), "What is the survival rate by class for men?", "compare_groups measure=survived agg=rate group=class where=sex=male"},
		{titanicSchema(), "Which class had the highest survival rate?", "compare_groups measure=survived agg=rate group=class"},
		{tips(), "What is the average tip for parties of size above 3?", "describe measure=tip agg=mean where=size>3"},
		{tips(), "What is the average tip when the bill is at least 20.5?", "describe measure=tip agg=mean where=total_bill>=20.5"},
		// A model uses every row: the condition is reported as not applied.
		{titanicSchema(), "why did women survive?", "drivers measure=survived ignored=sex=female"},
		// A yes/no question about the measure itself is not a row condition.
		{tips(), "Is tip greater than 2?", "describe measure=tip agg=mean"},
		// A word that is a column's name names the column, not a value.
		{tips(), "average tip by smoker", "compare_groups measure=tip agg=mean group=smoker"},
	} {
		if got := Recognize(tc.s, tc.q).String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.q, got, tc.want)
		}
	}
	// A comparison whose column the question does not name is asked back, not dropped.
	in := Recognize(tips(), "How many parties had more than 2 people?")
	if in.Kind != Clarify || !contains(in.Options, "size") {
		t.Errorf("more than 2 people: got %s %q, want a question back offering size", in, in.Clarification)
	}
}

func titanicSchema() *Schema {
	return &Schema{Columns: []Column{{Name: "survived", Type: "boolean"}, {Name: "pclass", Type: "numeric", Values: []string{"1", "2", "3"}},
		{Name: "sex", Type: "categorical", Values: []string{"male", "female"}}, {Name: "age", Type: "numeric"}, {Name: "fare", Type: "numeric"},
		{Name: "class", Type: "categorical", Values: []string{"Third", "First", "Second"}}, {Name: "who", Type: "categorical", Values: []string{"man", "woman", "child"}},
		{Name: "embark_town", Type: "categorical", Values: []string{"Southampton", "Cherbourg", "Queenstown"}}}}
}

// TestAnswerConditions runs the questions on the real files: the values are the ones SQL gives for
// the rows the question names (tips: total tip on Sundays 247.39, 18 bills with a tip above 5;
// titanic: median fare of women 23.0, survival 74.2% of women and 18.9% of men).
func TestAnswerConditions(t *testing.T) {
	ctx := context.Background()
	tipsT, tipsS := openShared(t, "tabular/tips.csv")
	titT, titS := openShared(t, "tabular/titanic.csv")
	for _, tc := range []struct {
		tools  duckTools
		s      *Schema
		q      string
		key    string
		want   float64
		inText string
	}{
		{tipsT, tipsS, "What is the total tip on Sunday?", "sum(tip)", 247.39, "For the rows where day = Sun:"},
		{tipsT, tipsS, "How many bills had a tip above 5?", "n", 18, "For the rows where tip > 5:"},
		{titT, titS, "What is the median fare for women?", "median(fare)", 23.0, "For the rows where sex = female:"},
	} {
		res, err := Answer(ctx, tc.tools, tc.s, tc.q, Options{}, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		got, ok := res.Answer.Values[tc.key]
		if !ok || got < tc.want-0.005 || got > tc.want+0.005 {
			t.Errorf("%q: %s = %v (%v), want %v; answer %q %v", tc.q, tc.key, got, ok, tc.want, res.Answer.Text, res.Answer.Values)
		}
		if !strings.Contains(res.Answer.Text, tc.inText) {
			t.Errorf("%q: answer %q does not say %q", tc.q, res.Answer.Text, tc.inText)
		}
	}
	res, err := Answer(ctx, titT, titS, "Did women survive more than men?", Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{"mean(survived)|sex=female": 0.742, "mean(survived)|sex=male": 0.189} {
		if got := res.Answer.Values[k]; got < want-0.0005 || got > want+0.0005 {
			t.Errorf("did women survive more than men: %s = %v, want %v (%s)", k, got, want, res.Answer.Text)
		}
	}
}
