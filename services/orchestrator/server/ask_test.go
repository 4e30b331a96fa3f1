package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// One mesh for the whole test binary; datasets are uploaded once each.
var (
	meshOnce sync.Once
	meshErr  error
	plat     *mesh.Platform
	meshHome string
	llm      *llmServer
	cl       *client.Client
	dsMu     sync.Mutex
	datasets = map[string]*commonv1.DatasetRef{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if plat != nil {
		cl.Close()
		plat.Stop()
		llm.srv.Close()
		os.RemoveAll(meshHome)
	}
	os.Exit(code)
}

func platform(t *testing.T) *client.Client {
	t.Helper()
	meshOnce.Do(func() {
		home, err := os.MkdirTemp("", "vds-orch-test-")
		if err != nil {
			meshErr = err
			return
		}
		meshHome = home
		ctx := context.Background()
		// The scripted LLM endpoint (llm_test.go) is configured before the mesh starts.
		llm = newLLMServer()
		os.Setenv("VDS_LLM_BASE_URL", llm.srv.URL+"/v1")
		os.Setenv("VDS_LLM_MODEL", "scripted")
		os.Setenv("VDS_LLM_API_KEY", "test-key")
		plat, meshErr = mesh.Up(ctx, mesh.Options{Home: home, Bootstrap: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if meshErr != nil {
			return
		}
		cl, meshErr = client.Dial(ctx, plat.GRPCAddr, client.WithAPIKey(plat.Creds.APIKey))
	})
	if meshErr != nil {
		t.Fatalf("start the mesh: %v", meshErr)
	}
	return cl
}

// dataset uploads a shared file once and waits for its ingest.
func dataset(t *testing.T, rel string) *commonv1.DatasetRef {
	t.Helper()
	c := platform(t)
	path := shareddata.Path(t, rel)
	dsMu.Lock()
	defer dsMu.Unlock()
	if d := datasets[rel]; d != nil {
		return d
	}
	ctx := context.Background()
	up, err := c.UploadFile(ctx, plat.Creds.ProjectID, path, nil)
	if err != nil {
		t.Fatalf("upload %s: %v", rel, err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatalf("ingest %s: %v", rel, err)
		}
	}
	d := &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
	datasets[rel] = d
	return d
}

// ask sends one question in a new conversation (or conv) and collects the streamed events.
func ask(t *testing.T, conv string, ref *commonv1.DatasetRef, question string) (string, []*orchestratorv1.Event, *orchestratorv1.Answer) {
	t.Helper()
	c := platform(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if conv == "" {
		cc, err := c.Orchestrator.CreateConversation(ctx, &orchestratorv1.CreateConversationRequest{ProjectId: plat.Creds.ProjectID, Datasets: []*commonv1.DatasetRef{ref}, Planner: "builtin"})
		if err != nil {
			t.Fatalf("create conversation: %v", err)
		}
		conv = cc.Conversation.Id
	}
	st, err := c.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: conv, Text: question})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var evs []*orchestratorv1.Event
	var ans *orchestratorv1.Answer
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%q: stream: %v", question, err)
		}
		evs = append(evs, r.Event)
		if a := r.Event.GetAnswer(); a != nil {
			ans = a
		}
	}
	if ans == nil {
		t.Fatalf("%q: no answer event among %d events", question, len(evs))
	}
	return conv, evs, ans
}

func intentOf(evs []*orchestratorv1.Event) string {
	for _, ev := range evs {
		if ev.Intent != nil {
			return ev.Intent.Kind
		}
		if ev.GetClarification() != "" {
			return "clarify"
		}
		if s := ev.GetPlanSummary(); s != "" {
			f := strings.Fields(strings.TrimPrefix(s, "Intent "))
			if len(f) > 0 {
				return strings.TrimSuffix(f[0], ".")
			}
		}
	}
	return ""
}

// The question set. Expected numbers were computed independently with pandas 1.5 on the same files
// (/usr/bin/python3; TotalCharges blanks as NaN; pairwise-complete correlations; Series.quantile's
// linear interpolation for IQR fences; numpy.polyfit(year, yearly mean passengers, 1) for the slope).
var questions = []struct {
	file, q, intent, key string
	want                 float64
}{
	{"tabular/titanic.csv", "What is the mean fare?", "describe", "mean(fare)", 32.204207968574636},
	{"tabular/titanic.csv", "What is the survival rate by class?", "compare_groups", "rate(survived)|class=First", 0.6296296296296297},
	{"tabular/titanic.csv", "Average age by sex", "compare_groups", "mean(age)|sex=female", 27.915708812260537},
	{"tabular/titanic.csv", "Which columns have missing values?", "data_quality", "missing(deck)", 688},
	{"tabular/titanic.csv", "Are there outliers in the fare?", "anomalies", "outliers_iqr(fare)", 116},
	{"tabular/telco_churn.csv", "What is the churn rate by contract type?", "compare_groups", "rate(Churn)|Contract=Month-to-month", 0.4270967741935484},
	{"tabular/telco_churn.csv", "average monthly charges per internet service", "compare_groups", "mean(MonthlyCharges)|InternetService=Fiber optic", 91.50012919896642},
	{"tabular/telco_churn.csv", "What is the average charge?", "clarify", "", 0},
	{"tabular/telco_churn.csv", "Is there a relationship between tenure and total charges?", "relationship", "corr(tenure,TotalCharges)", 0.825880460933202},
	{"tabular/penguins.csv", "What is the correlation of flipper length and body mass?", "relationship", "corr(flipper_length_mm,body_mass_g)", 0.8712017673060117},
	{"tabular/penguins.csv", "Mean body mass by species", "compare_groups", "mean(body_mass_g)|species=Gentoo", 5076.016260162602},
	{"tabular/flights.csv", "What is the passenger trend over the years?", "trend", "slope(mean(passengers)/year)", 31.923951048952524},
	{"tabular/flights.csv", "Total passengers by year", "compare_groups", "sum(passengers)|year=1960", 5714},
	{"tabular/tips.csv", "What is the average tip by day?", "compare_groups", "mean(tip)|day=Sun", 3.2551315789473683},
	{"tabular/tips.csv", "Describe the dataset", "describe", "rows", 244},
	{"tabular/tips.csv", "What is the median total bill?", "describe", "median(total_bill)", 17.795},
	{"tabular/tips.csv", "Any unusual tips?", "anomalies", "outliers_iqr(tip)", 9},
	{"tabular/tips.csv", "What's the average?", "clarify", "", 0},
	{"tabular/penguins.csv", "What is interesting in this data?", "hypotheses", "", 0},
	// First-user misreads: tips.groupby("smoker").tip.mean(), len(tips), tips.tip.corr(tips.total_bill).
	{"tabular/tips.csv", "Is the tip higher for smokers?", "compare_groups", "mean(tip)|smoker=true", 3.008709677419355},
	{"tabular/tips.csv", "Do smokers tip more than non-smokers?", "compare_groups", "mean(tip)|smoker=false", 2.9918543046357615},
	{"tabular/tips.csv", "How many rows are there?", "describe", "rows", 244},
	{"tabular/tips.csv", "What is the trend of tip over total_bill?", "relationship", "corr(total_bill,tip)", 0.6757341092113641},
	// numpy.polyfit(years, dowjones.groupby(Date.dt.year).Price.mean(), 1)[0]
	{"tabular/dowjones.csv", "What is the trend of the price?", "trend", "slope(mean(Price)/year)", 13.298518999518882},
	{"tabular/iris.csv", "correlation between petal length and petal width", "relationship", "corr(petal_length,petal_width)", 0.9628654314027961},
	{"tabular/mpg.csv", "What is the average horsepower?", "describe", "mean(horsepower)", 104.46938775510205},
	// statsmodels 0.13: ols("re78 ~ treat + age + educ + black + hisp + marr + nodegree + re74 + re75").params["treat"]
	// (regression adjustment; data_id is constant and rownames an identifier, so neither is adjusted for).
	{"causal/nsw_experimental.csv", "What is the effect of treat on re78?", "effect", "ate", 1676.3426254025544},
}

func TestQuestionSet(t *testing.T) {
	correct := 0
	for _, qq := range questions {
		ref := dataset(t, qq.file)
		_, evs, ans := ask(t, "", ref, qq.q)
		got := intentOf(evs)
		ok := got == qq.intent
		detail := ""
		if ok && qq.key != "" {
			v, has := ans.Values[qq.key]
			switch {
			case !has:
				ok, detail = false, fmt.Sprintf("no value %q in %v", qq.key, keys(ans.Values))
			case math.Abs(v-qq.want) > 1e-6*math.Max(1, math.Abs(qq.want)):
				ok, detail = false, fmt.Sprintf("%s = %v, want %v", qq.key, v, qq.want)
			}
		}
		if ok {
			correct++
		} else {
			t.Logf("WRONG %s %q: intent %s (want %s) %s; answer: %s", qq.file, qq.q, got, qq.intent, detail, ans.Text)
		}
	}
	score := float64(correct) / float64(len(questions))
	fmt.Printf("built-in planner question-set score: %d/%d = %.0f%%\n", correct, len(questions), 100*score)
	t.Logf("score %d/%d", correct, len(questions))
	if score < 0.9 {
		t.Fatalf("score %.0f%% is below 90%%", 100*score)
	}
}

func keys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// "Why is churn high?" names Contract and tenure among the drivers, shows a chart, and the debate
// flags that the two are entangled. The conversation is then listed, resumed and exported.
func TestWhyIsChurnHigh(t *testing.T) {
	ref := dataset(t, "tabular/telco_churn.csv")
	conv, evs, ans := ask(t, "", ref, "Why is churn high?")
	if got := intentOf(evs); got != "drivers" {
		t.Fatalf("intent %s, want drivers", got)
	}
	var drivers string
	charts, tools := 0, map[string]int{}
	var skeptic *orchestratorv1.DebateTurn
	roles := map[string]bool{}
	for _, ev := range evs {
		if f := ev.GetFinding(); f != nil && f.Test == "permutation_importance" {
			drivers = f.Statement
		}
		if ev.GetChart() != nil {
			charts++
		}
		if tc := ev.GetToolCall(); tc != nil {
			tools[tc.Tool]++
		}
		if d := ev.GetDebate(); d != nil {
			roles[d.Role] = true
			if d.Role == "skeptic" {
				skeptic = d
			}
		}
	}
	for _, want := range []string{"Contract", "tenure"} {
		if !strings.Contains(drivers, want) {
			t.Errorf("drivers %q do not name %s", drivers, want)
		}
	}
	if charts == 0 {
		t.Error("no chart")
	}
	for _, tool := range []string{"profile_hypotheses", "train", "run_sql"} {
		if tools[tool] == 0 {
			t.Errorf("no %s tool call (calls: %v)", tool, tools)
		}
	}
	for _, r := range []string{"statistician", "skeptic", "engineer", "synthesis"} {
		if !roles[r] {
			t.Errorf("no %s turn in the debate", r)
		}
	}
	entangled := false
	if skeptic != nil {
		for _, e := range skeptic.Evidence {
			if strings.Contains(e, "entangled") && strings.Contains(e, "Contract") && strings.Contains(e, "tenure") {
				entangled = true
			}
		}
	}
	if !entangled {
		t.Errorf("the skeptic does not flag Contract and tenure as entangled: %+v", skeptic)
	}
	if ans.Confidence == "" || ans.Values["hypotheses_tested"] == 0 {
		t.Errorf("answer lacks confidence or hypothesis counts: %+v", ans)
	}

	c := platform(t)
	ctx := context.Background()
	// Ask-back and its reply: the reply completes the earlier question.
	_, evs2, _ := ask(t, conv, ref, "What is the average charge?")
	if intentOf(evs2) != "clarify" {
		t.Fatalf("want a question back, got %s", intentOf(evs2))
	}
	_, _, a3 := ask(t, conv, ref, "monthly")
	if v := a3.Values["mean(MonthlyCharges)"]; math.Abs(v-64.76169246059918) > 1e-6 {
		t.Errorf("reply to the ask-back: mean(MonthlyCharges) = %v, want 64.7617 (pandas)", v)
	}
	// A follow-up keeps the previous measure: pandas telco.groupby("Contract").MonthlyCharges.mean().
	_, evs4, a4 := ask(t, conv, ref, "and by contract?")
	if got := intentOf(evs4); got != "compare_groups" || math.Abs(a4.Values["mean(MonthlyCharges)|Contract=Month-to-month"]-66.39849032258065) > 1e-6 {
		t.Errorf("follow-up: intent %s, values %v", got, a4.Values)
	}
	// What the user clicked restricts the data: pandas telco[telco.Contract == "Month-to-month"].tenure.mean().
	sel, err := c.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: conv, Text: "What is the mean tenure?",
		Selections: []*orchestratorv1.Selection{{ChartId: "cht_x", Field: "Contract", Values: []string{"Month-to-month"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var selAns *orchestratorv1.Answer
	for {
		r, err := sel.Recv()
		if err != nil {
			break
		}
		if a := r.Event.GetAnswer(); a != nil {
			selAns = a
		}
	}
	if selAns == nil || math.Abs(selAns.Values["mean(tenure)"]-18.036645161290323) > 1e-9 {
		t.Errorf("selection: %+v", selAns)
	}
	if selAns != nil && !strings.HasPrefix(selAns.Text, "Over the selected rows (Contract = Month-to-month): ") {
		t.Errorf("the answer over a selection does not say so: %q", selAns.Text)
	}
	g, err := c.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: conv})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.Conversation.Messages); n != 10 {
		t.Fatalf("conversation has %d messages, want 10", n)
	}
	l, err := c.Orchestrator.ListConversations(ctx, &orchestratorv1.ListConversationsRequest{ProjectId: plat.Creds.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range l.Conversations {
		found = found || x.Id == conv
	}
	if !found {
		t.Error("conversation not listed")
	}
	for _, f := range []string{"markdown", "html"} {
		rep, err := c.Orchestrator.GetReport(ctx, &orchestratorv1.GetReportRequest{ConversationId: conv, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Why is churn high?", "Contract", "tenure", "entangled", "SELECT", "vega"} {
			if !strings.Contains(rep.Content, want) {
				t.Errorf("%s report lacks %q", f, want)
			}
		}
	}
	// Errors.
	for _, tc := range []struct {
		req  *orchestratorv1.SendMessageRequest
		code codes.Code
	}{
		{&orchestratorv1.SendMessageRequest{ConversationId: "nope", Text: "x"}, codes.InvalidArgument},
		{&orchestratorv1.SendMessageRequest{ConversationId: "cnv_0190aaaaaaaa7aaa8aaaaaaaaaaaaaaa", Text: "x"}, codes.NotFound},
		{&orchestratorv1.SendMessageRequest{ConversationId: conv, Text: " "}, codes.InvalidArgument},
		{&orchestratorv1.SendMessageRequest{ConversationId: conv, Text: "mean tenure", Selections: []*orchestratorv1.Selection{{Field: "nope", Values: []string{"a"}}}}, codes.InvalidArgument},
	} {
		st, err := c.Orchestrator.SendMessage(ctx, tc.req)
		if err == nil {
			_, err = st.Recv()
		}
		if status.Code(err) != tc.code {
			t.Errorf("%v: got %v, want %v", tc.req, err, tc.code)
		}
	}
	if _, err := c.Orchestrator.GetReport(ctx, &orchestratorv1.GetReportRequest{ConversationId: conv, Format: "pdf"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("pdf report: %v", err)
	}
}

// TestSQLIsNotAnalysed: a SQL statement sent as a question is answered as not a question about the
// data (nothing ran: no plan, no tool call), and the table is still there afterwards.
func TestSQLIsNotAnalysed(t *testing.T) {
	ref := dataset(t, "tabular/tips.csv")
	for _, q := range []string{"DROP TABLE tips; --", "delete from tips where tip > 1", "SELECT * FROM tips; -- x"} {
		_, evs, ans := ask(t, "", ref, q)
		if ans.Confidence != "refused" || !strings.Contains(ans.Text, "SQL statement, not a question about the data") ||
			!strings.Contains(ans.Text, "total_bill") || !strings.Contains(ans.Text, "vds exec --sql") {
			t.Errorf("%q: answer %q (confidence %q)", q, ans.Text, ans.Confidence)
		}
		for _, ev := range evs {
			if ev.GetToolCall() != nil || ev.GetPlanSummary() != "" || ev.Intent != nil {
				t.Errorf("%q: something was planned or run: %v", q, ev)
			}
		}
	}
	// An analysis question about the same table still is one.
	_, _, ans := ask(t, "", ref, "What is the median total bill?")
	if ans.Values["median(total_bill)"] != 17.795 {
		t.Errorf("after the SQL: median(total_bill) %v, answer %q", ans.Values["median(total_bill)"], ans.Text)
	}
}
