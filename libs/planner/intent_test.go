package planner

import (
	"strings"
	"testing"
)

func telco() *Schema {
	return &Schema{DatasetID: "ds_x", Columns: []Column{
		{Name: "customerID", Type: "identifier"},
		{Name: "gender", Type: "categorical", Values: []string{"Female", "Male"}},
		{Name: "tenure", Type: "numeric"},
		{Name: "InternetService", Type: "categorical", Values: []string{"DSL", "Fiber optic", "No"}},
		{Name: "PhoneService", Type: "categorical", Values: []string{"No", "Yes"}},
		{Name: "Contract", Type: "categorical", Values: []string{"Month-to-month", "One year", "Two year"}},
		{Name: "PaymentMethod", Type: "categorical", Values: []string{"Bank transfer (automatic)", "Electronic check", "Mailed check"}},
		{Name: "MonthlyCharges", Type: "numeric"},
		{Name: "TotalCharges", Type: "numeric"},
		{Name: "Churn", Type: "categorical", Values: []string{"No", "Yes"}},
	}}
}

func flights() *Schema {
	return &Schema{Columns: []Column{{Name: "year", Type: "numeric", Values: []string{"1949", "1950"}}, {Name: "month", Type: "categorical"}, {Name: "passengers", Type: "numeric"}}}
}

func penguins() *Schema {
	return &Schema{Columns: []Column{{Name: "species", Type: "categorical", Values: []string{"Adelie", "Chinstrap", "Gentoo"}},
		{Name: "bill_length_mm", Type: "numeric"}, {Name: "flipper_length_mm", Type: "numeric"}, {Name: "body_mass_g", Type: "numeric"}, {Name: "sex", Type: "categorical", Values: []string{"FEMALE", "MALE"}}}}
}

func tips() *Schema {
	return &Schema{Columns: []Column{{Name: "total_bill", Type: "numeric"}, {Name: "tip", Type: "numeric"},
		{Name: "sex", Type: "categorical", Values: []string{"Female", "Male"}}, {Name: "smoker", Type: "categorical", Values: []string{"No", "Yes"}},
		{Name: "day", Type: "categorical", Values: []string{"Fri", "Sat", "Sun", "Thur"}}, {Name: "time", Type: "categorical", Values: []string{"Dinner", "Lunch"}},
		{Name: "size", Type: "numeric", Values: []string{"1", "2", "3", "4", "5", "6"}}}}
}

// TestRecognizeFirstUser holds the misreads of a first-user test of `vds ask` on tips.csv.
func TestRecognizeFirstUser(t *testing.T) {
	for _, tc := range []struct {
		q, want string // want: Intent.String(), or "clarify" for a question back
	}{
		{"Is the tip higher for smokers?", "compare_groups measure=tip agg=mean group=smoker"},
		{"Do smokers tip more than non-smokers?", "compare_groups measure=tip agg=mean group=smoker"},
		{"Is the median tip lower at lunch than at dinner?", "compare_groups measure=tip agg=median group=time"},
		{"How many rows are there?", "describe"},
		{"how many records does the file have", "describe"},
		{"What is the trend of tip over total_bill?", "relationship measure=tip group=total_bill"},
		{"What is the trend of tip?", "clarify"},
		{"Is tip greater than 2?", "describe measure=tip agg=mean"},
	} {
		in := Recognize(tips(), tc.q)
		if tc.want == "clarify" {
			if in.Kind != Clarify || strings.Contains(in.Clarification, "Candidates: .") || in.Clarification == "" {
				t.Errorf("%q: got %s %q %v, want a question back that is not an empty candidate list", tc.q, in, in.Clarification, in.Options)
			}
			continue
		}
		if got := in.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q (%s)", tc.q, got, tc.want, in.Clarification)
		}
	}
}

// TestNoEmptyCandidates: an ask-back never offers an empty list of candidates.
func TestNoEmptyCandidates(t *testing.T) {
	for _, q := range []string{"What is the trend of tip?", "show the growth", "what is the average?", "What drives it?", "compare the groups"} {
		for _, s := range []*Schema{tips(), penguins(), {Columns: []Column{{Name: "note", Type: "text"}}}} {
			in := Recognize(s, q)
			if in.Kind == Clarify && (strings.Contains(in.Clarification, "Candidates: .") || strings.HasSuffix(in.Clarification, ": ?")) {
				t.Errorf("%q: empty candidate list: %q", q, in.Clarification)
			}
		}
	}
}

func TestRecognize(t *testing.T) {
	for _, tc := range []struct {
		s    *Schema
		q    string
		want string // Intent.String(), or "clarify:<option>" for a question back that offers option
	}{
		{telco(), "What is the churn rate by contract type?", "compare_groups measure=Churn agg=rate group=Contract"},
		{telco(), "Why is churn high?", "drivers measure=Churn"},
		{telco(), "why are customers leaving", "drivers measure=Churn"},
		{telco(), "why is it so high?", "clarify:Churn"},
		{telco(), "What drives attrition?", "drivers measure=Churn"},
		{telco(), "average monthly charges per internet service", "compare_groups measure=MonthlyCharges agg=mean group=InternetService"},
		{telco(), "What is the average charge?", "clarify:MonthlyCharges"},
		{telco(), "what's the TOTAL CHARGES median", "describe measure=TotalCharges agg=median"},
		{telco(), "mean tenure of month-to-month customers by payment method", "compare_groups measure=tenure agg=mean group=PaymentMethod where=Contract=Month-to-month"},
		{telco(), "Is there a relationship between tenure and total charges?", "relationship measure=TotalCharges group=tenure"},
		{telco(), "Can we predict churn?", "predict measure=Churn"},
		{telco(), "what is the effect of contract on churn", "effect measure=Churn group=Contract"},
		{telco(), "Which columns have missing values?", "data_quality"},
		{telco(), "find customer segments by monthly charges", "segments measure=MonthlyCharges"},
		{telco(), "any outliers in tenure?", "anomalies measure=tenure"},
		{telco(), "hello", "clarify:"},
		{flights(), "What is the passenger trend over the years?", "trend measure=passengers agg=mean time=year"},
		{flights(), "Total passengers by year", "compare_groups measure=passengers agg=sum group=year"},
		{penguins(), "What is the correlation of flipper length and body mass?", "relationship measure=body_mass_g group=flipper_length_mm"},
		{penguins(), "body weight vs flipper length", "relationship measure=flipper_length_mm group=body_mass_g"},
		{penguins(), "Mean body mass by species", "compare_groups measure=body_mass_g agg=mean group=species"},
		{penguins(), "how does the length relate to mass", "clarify:bill_length_mm"},
		{penguins(), "describe the data", "describe"},
		{penguins(), "What is interesting in this data?", "hypotheses"},
		{telco(), "any insights about churn?", "hypotheses measure=Churn"},
	} {
		in := Recognize(tc.s, tc.q)
		if opt, ok := strings.CutPrefix(tc.want, "clarify:"); ok {
			if in.Kind != Clarify || in.Clarification == "" || (opt != "" && !contains(in.Options, opt) && !strings.Contains(in.Clarification, opt)) {
				t.Errorf("%q: got %s %q %v, want a question back offering %q", tc.q, in, in.Clarification, in.Options, opt)
			}
			continue
		}
		if got := in.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q (%s)", tc.q, got, tc.want, in.Clarification)
		}
	}
}

func TestResolveLoosely(t *testing.T) {
	s := telco()
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"monthly charges", []string{"MonthlyCharges"}},
		{"MONTHLY_CHARGES and Tenure", []string{"MonthlyCharges", "tenure"}},
		{"electronic check payers", []string{"PaymentMethod"}},
		{"internet", []string{"InternetService"}},
		{"the plan", []string{"Contract"}},
	} {
		got := Resolve(s, tc.q).Columns
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q: got %v, want %v", tc.q, got, tc.want)
		}
	}
	if r := Resolve(s, "charges"); len(r.Ambiguous) != 1 || len(r.Ambiguous[0]) != 2 {
		t.Errorf("charges: want one ambiguity between two columns, got %+v", r)
	}
}

func TestValidateToolCalls(t *testing.T) {
	s := telco()
	for _, tc := range []struct {
		name, raw string
		want      string // intent, "sql", or "error:<substring>"
	}{
		{"compare_groups", `{"group":"Contract","measure":"Churn"}`, "compare_groups measure=Churn agg=rate group=Contract"},
		{"compare_groups", "```json\n{'group': 'contract', 'measure': 'churn',}\n```", "compare_groups measure=Churn agg=rate group=Contract"},
		{"compare_groups", `{group: "Contract", measure: "MonthlyCharges"`, "compare_groups measure=MonthlyCharges agg=mean group=Contract"},
		{"relationship", `{"x":"tenure","y":"TotalCharges"}`, "relationship measure=TotalCharges group=tenure"},
		{"drivers", `{"target":"nonexistent"}`, "error:not a column"},
		{"drivers", `{}`, "error:needs argument"},
		{"drivers", `{"target":"Churn","extra":1}`, "error:no argument"},
		{"delete_everything", `{}`, "error:unknown tool"},
		{"compare_groups", `{"group": [1,2]}`, "error:must be a string"},
		{"compare_groups", `{"group":"Contract","agg":"explode"}`, "error:agg"},
		{"run_sql", `{"sql":"SELECT count(*) FROM data"}`, "sql"},
		{"run_sql", `{"sql":"DROP TABLE data"}`, "error:read-only"},
		{"run_sql", `{"sql":"SELECT 1; SELECT 2"}`, "error:one read-only"},
		{"trend", `not json at all`, "error:not valid JSON"},
	} {
		_, in, err := validate(s, tc.name, tc.raw)
		switch {
		case strings.HasPrefix(tc.want, "error:"):
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "error:")) {
				t.Errorf("%s %s: got %v, want error containing %q", tc.name, tc.raw, err, tc.want)
			}
		case err != nil:
			t.Errorf("%s %s: %v", tc.name, tc.raw, err)
		case tc.want == "sql":
			if in != nil {
				t.Errorf("run_sql gave an intent")
			}
		case in.String() != tc.want:
			t.Errorf("%s %s: got %s, want %s", tc.name, tc.raw, in, tc.want)
		}
	}
}

func TestRecognizeFollowUps(t *testing.T) {
	s := telco()
	prev := &Intent{Kind: Compare, Measure: "Churn", Agg: "rate", Group: "Contract"}
	for _, tc := range []struct {
		q    string
		prev *Intent
		want string
	}{
		{"and by gender?", prev, "compare_groups measure=Churn agg=rate group=gender"},
		{"what about payment method", prev, "compare_groups measure=Churn agg=rate group=PaymentMethod"},
		{"and the monthly charges?", prev, "compare_groups measure=MonthlyCharges agg=mean group=Contract"},
		{"What is the mean tenure?", prev, "describe measure=tenure agg=mean"},
		{"and by gender?", nil, "clarify"},
		{"by internet service", &Intent{Kind: Describe, Measure: "MonthlyCharges", Agg: "mean"}, "compare_groups measure=MonthlyCharges agg=mean group=InternetService"},
		{"and over the years?", &Intent{Kind: Describe, Measure: "passengers", Agg: "mean"}, "clarify"},
	} {
		sc := s
		if strings.Contains(tc.q, "years") {
			sc = flights()
			tc.want = "trend measure=passengers agg=mean time=year"
		}
		in := RecognizeIn(sc, tc.q, tc.prev)
		got := in.String()
		if tc.want == "clarify" {
			if in.Kind != Clarify {
				t.Errorf("%q after %v: got %s, want a question back", tc.q, tc.prev, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%q after %v: got %q, want %q", tc.q, tc.prev, got, tc.want)
		}
	}
}
