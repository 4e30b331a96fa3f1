package planner

import (
	"context"
	"fmt"
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
		// Exclusions, either of two values, and a comparison whose nearest word names no column
		// (a second new-user test: these were read as day = Sun, dropped, or as tip > 4).
		{tips(), "average tip where day is not Sun", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip excluding Sunday", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip on days other than Sunday", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip on Saturday or Sunday", "describe measure=tip agg=mean where=day in Sat,Sun"},
		{tips(), "average tip except on Saturdays and Sundays", "describe measure=tip agg=mean where=day not in Sat,Sun"},
		{tips(), "average tip where size = 2", "describe measure=tip agg=mean where=size=2"},
		{tips(), "which day has the lowest total tip", "compare_groups measure=tip agg=sum group=day"},
		// Boolean columns: named, negated, or given a value.
		{tipsBool(), "average tip for smokers", "describe measure=tip agg=mean where=smoker=true"},
		{tipsBool(), "average tip for non-smokers", "describe measure=tip agg=mean where=smoker=false"},
		{tipsBool(), "average tip where smoker = true", "describe measure=tip agg=mean where=smoker=true"},
		{tipsBool(), "average tip when smoker is Yes and day is Sun", "describe measure=tip agg=mean where=smoker=true where=day=Sun"},
		{tipsBool(), "average tip when smoker is not Yes", "describe measure=tip agg=mean where=smoker=false"},
		{tipsBool(), "average tip for smokers and non-smokers", "compare_groups measure=tip agg=mean group=smoker"},
		{titanicSchema(), "average age where survived = 1", "describe measure=age agg=mean where=survived=true"},
		{titanicSchema(), "average age of survivors", "describe measure=age agg=mean where=survived=true"},
		{titanicSchema(), "average fare of those who did not survive", "describe measure=fare agg=mean where=survived=false"},
		// "does X increase Y" asks for an effect; "does Y increase with X" for a relationship.
		{nsw(), "does treat increase re78?", "effect measure=re78 group=treat"},
		{tips(), "does tip increase with total_bill", "relationship measure=tip group=total_bill"},
	} {
		if got := Recognize(tc.s, tc.q).String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.q, got, tc.want)
		}
	}
	// A comparison whose column the question does not name is asked back, not dropped.
	for _, q := range []string{"How many parties had more than 2 people?", "average tip for parties larger than 4"} {
		in := Recognize(tips(), q)
		if in.Kind != Clarify || !contains(in.Options, "size") {
			t.Errorf("%q: got %s %q, want a question back offering size", q, in, in.Clarification)
		}
	}
}

// tipsBool is tips with smoker read as a boolean from Yes/No, as ingestion reads it.
func tipsBool() *Schema {
	s := tips()
	c := s.Col("smoker")
	c.Type, c.Values, c.TrueLabel, c.FalseLabel = "boolean", []string{"false", "true"}, "Yes", "No"
	return s
}

func nsw() *Schema {
	return &Schema{Columns: []Column{{Name: "treat", Type: "boolean"}, {Name: "age", Type: "numeric"}, {Name: "re75", Type: "numeric"}, {Name: "re78", Type: "numeric"}}}
}

// asBoolean makes a column of the test table boolean (true where it equals yes), as ingestion reads
// Yes/No and 0/1 columns, and its schema column boolean with the file's spellings. (DuckDB's own
// reader may already have read Yes/No as true/false.)
func asBoolean(t *testing.T, tools duckTools, s *Schema, col, yes, trueLabel, falseLabel string) {
	t.Helper()
	if err := tools.c.Exec(context.Background(), fmt.Sprintf("CREATE OR REPLACE TABLE data AS SELECT * REPLACE (lower(CAST(%s AS VARCHAR)) IN (lower(%s), 'true') AS %[1]s) FROM data", q(col), lit(yes))); err != nil {
		t.Fatal(err)
	}
	c := s.Col(col)
	c.Type, c.Values, c.TrueLabel, c.FalseLabel = "boolean", []string{"false", "true"}, trueLabel, falseLabel
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
	tipsBT, tipsBS := openShared(t, "tabular/tips.csv")
	asBoolean(t, tipsBT, tipsBS, "smoker", "Yes", "Yes", "No")
	titBT, titBS := openShared(t, "tabular/titanic.csv")
	asBoolean(t, titBT, titBS, "survived", "1", "", "")
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
		// pandas: tips[tips.day != "Sun"].tip.mean(), tips[tips.day.isin(["Sat", "Sun"])].tip.mean()
		{tipsT, tipsS, "average tip where day is not Sun", "mean(tip)", 2.88208, "For the rows where day != Sun:"},
		{tipsT, tipsS, "average tip on Saturday or Sunday", "mean(tip)", 3.11528, "For the rows where day = Sat or Sun:"},
		{tipsT, tipsS, "average tip on days other than Sunday", "n", 168, "For the rows where day != Sun:"},
		// tips[tips.smoker == "Yes"].tip.mean(), the same on Sundays, tips[tips.smoker == "No"].tip.mean()
		{tipsBT, tipsBS, "average tip for smokers", "mean(tip)", 3.00871, "For the rows where smoker = Yes:"},
		{tipsBT, tipsBS, "average tip for smokers on Sunday", "mean(tip)", 3.51684, "For the rows where smoker = Yes and day = Sun:"},
		{tipsBT, tipsBS, "average tip for non-smokers", "mean(tip)", 2.99185, "For the rows where smoker = No:"},
		// titanic[titanic.survived == 1].age.mean(), titanic[titanic.survived == 0].fare.mean()
		{titBT, titBS, "average age of passengers who survived", "mean(age)", 28.34369, "For the rows where survived = true:"},
		{titBT, titBS, "average fare of those who did not survive", "mean(fare)", 22.11789, "For the rows where survived = false:"},
		// tips.groupby("day").tip.sum(): Fri 51.96 is the lowest.
		{tipsT, tipsS, "which day has the lowest total tip", "sum(tip)|day=Fri", 51.96, "Fri has the lowest total tip (51.96)."},
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
