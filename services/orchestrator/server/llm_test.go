package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
)

// llmServer is a scripted OpenAI-compatible chat-completions server on loopback: it speaks the real
// protocol (POST /v1/chat/completions with messages and tools; answers with choices[0].message and
// tool_calls) and plays, for each conversation (keyed by the user's question), one scripted turn per
// request. It records what it received.
type llmServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	scripts map[string][]func(req map[string]any) (int, any)
	seen    map[string][]map[string]any
	auth    []string
}

func newLLMServer() *llmServer {
	l := &llmServer{scripts: map[string][]func(map[string]any) (int, any){}, seen: map[string][]map[string]any{}}
	l.srv = httptest.NewServer(http.HandlerFunc(l.handle))
	return l
}

func (l *llmServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	question := ""
	for _, m := range req["messages"].([]any) {
		// The conversation is keyed by its last user message (the question; earlier ones are history).
		if mm := m.(map[string]any); mm["role"] == "user" {
			question = mm["content"].(string)
		}
	}
	l.mu.Lock()
	l.auth = append(l.auth, r.Header.Get("Authorization"))
	l.seen[question] = append(l.seen[question], req)
	n := len(l.seen[question]) - 1
	script := l.scripts[question]
	l.mu.Unlock()
	if n >= len(script) {
		http.Error(w, `{"error":{"message":"script exhausted"}}`, http.StatusInternalServerError)
		return
	}
	code, body := script[n](req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

func toolCalls(calls ...[2]string) any {
	var tcs []any
	for i, c := range calls {
		tcs = append(tcs, map[string]any{"id": "call_" + string(rune('a'+i)), "type": "function", "function": map[string]any{"name": c[0], "arguments": c[1]}})
	}
	return map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
		"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs}}}}
}

func reply(text string) any {
	return map[string]any{"id": "chatcmpl-2", "object": "chat.completion", "choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
		"message": map[string]any{"role": "assistant", "content": text}}}}
}

// toolResults returns the tool messages of a request, by tool_call_id.
func toolResults(req map[string]any) map[string]string {
	out := map[string]string{}
	for _, m := range req["messages"].([]any) {
		mm := m.(map[string]any)
		if mm["role"] == "tool" {
			out[mm["tool_call_id"].(string)] = mm["content"].(string)
		}
	}
	return out
}

func llmConversation(t *testing.T, ref *commonv1.DatasetRef) string {
	t.Helper()
	cc, err := platform(t).Orchestrator.CreateConversation(context.Background(), &orchestratorv1.CreateConversationRequest{ProjectId: plat.Creds.ProjectID,
		Datasets: []*commonv1.DatasetRef{ref}, Planner: "llm"})
	if err != nil {
		t.Fatal(err)
	}
	return cc.Conversation.Id
}

var debateTurns, debateNum string

func TestLLMPlanner(t *testing.T) {
	ref := dataset(t, "tabular/telco_churn.csv")
	l := llm
	var mu sync.Mutex
	var failures []string
	fail := func(f string) { mu.Lock(); failures = append(failures, f); mu.Unlock() }

	// 1. A repairable malformed call, an unknown tool, a long result cut to the budget, then prose.
	q1 := "llm: which contract churns most?"
	l.mu.Lock()
	l.scripts[q1] = []func(map[string]any) (int, any){
		func(req map[string]any) (int, any) {
			var names []string
			for _, tl := range req["tools"].([]any) {
				names = append(names, tl.(map[string]any)["function"].(map[string]any)["name"].(string))
			}
			if !strings.Contains(strings.Join(names, ","), "compare_groups") || !strings.Contains(strings.Join(names, ","), "run_sql") {
				fail("tools offered: " + strings.Join(names, ","))
			}
			return 200, toolCalls([2]string{"compare_groups", "```json\n{'group': 'contract', 'measure': 'churn',}\n```"}, [2]string{"rm_rf", `{"path":"/"}`})
		},
		func(req map[string]any) (int, any) {
			res := toolResults(req)
			if !strings.Contains(res["call_a"], "rate(Churn)|Contract=Month-to-month=0.4271") {
				fail("compare_groups result: " + res["call_a"])
			}
			if !strings.HasPrefix(res["call_b"], "refused: unknown tool") {
				fail("unknown tool result: " + res["call_b"])
			}
			return 200, toolCalls([2]string{"run_sql", `{"sql": "SELECT customerID, Contract, Churn FROM data ORDER BY customerID"}`})
		},
		func(req map[string]any) (int, any) {
			res := toolResults(req)
			if r := res["call_a"]; len(r) > 600*4+100 || !strings.Contains(r, "[truncated") {
				fail("long SQL result was not cut to the budget: " + strconv.Itoa(len(r)) + " characters")
			}
			return 200, reply("Month-to-month contracts churn most (42.7%).")
		},
		// The debate's prose: the model rewrites the first turn from its checks' numbers and invents a
		// number in the second (refused: that turn keeps the checks' prose).
		func(req map[string]any) (int, any) {
			if _, ok := req["tools"]; ok {
				fail("the debate-prose request offers tools")
			}
			msgs := req["messages"].([]any)
			prompt := msgs[0].(map[string]any)["content"].(string)
			var turns []struct {
				Index    int      `json:"index"`
				Role     string   `json:"role"`
				Claim    string   `json:"claim"`
				Evidence []string `json:"evidence"`
			}
			if err := json.Unmarshal([]byte(prompt[strings.Index(prompt, "Turns: ")+len("Turns: "):]), &turns); err != nil || len(turns) < 2 {
				fail(fmt.Sprintf("debate prompt: %v %q", err, truncStr(prompt, 300)))
				return 200, reply("[]")
			}
			debateTurns = turns[0].Role + "|" + turns[1].Role + "|" + turns[1].Claim
			// A plain decimal of the first turn (not the mantissa of 5.86e-258, which would be refused).
			num := ""
			for _, m := range regexp.MustCompile(`\d+\.\d+(e-?\d+)?`).FindAllString(strings.Join(append([]string{turns[0].Claim}, turns[0].Evidence...), " "), -1) {
				if num == "" && !strings.Contains(m, "e") {
					num = m
				}
			}
			prose, _ := json.Marshal([]map[string]any{{"index": 0, "claim": "In plain words: the key number is " + num + "."}, {"index": 1, "claim": "It holds with 99.97% certainty."}})
			debateNum = num
			return 200, reply("```json\n" + string(prose) + "\n```")
		},
	}
	// 2. The endpoint fails: the built-in planner answers instead.
	q2 := "What is the churn rate by contract type?"
	l.scripts[q2] = []func(map[string]any) (int, any){
		func(map[string]any) (int, any) {
			return 500, map[string]any{"error": map[string]any{"message": "overloaded"}}
		},
		func(map[string]any) (int, any) {
			return 503, map[string]any{"error": map[string]any{"message": "overloaded"}}
		},
	}
	// 3. Unrepairable arguments and a non-column are refused; the model then answers without tools.
	q3 := "llm: tenure?"
	l.scripts[q3] = []func(map[string]any) (int, any){
		func(map[string]any) (int, any) {
			return 200, toolCalls([2]string{"describe", `{"column": tenure months`}, [2]string{"drivers", `{"target":"happiness"}`})
		},
		func(req map[string]any) (int, any) {
			res := toolResults(req)
			if !strings.Contains(res["call_a"], "not valid JSON") || !strings.Contains(res["call_b"], "not a column") {
				fail("refusals: " + res["call_a"] + " / " + res["call_b"])
			}
			return 200, reply("I could not compute it.")
		},
	}
	// 4. The model writes analysis code that runs in the Python sandbox.
	q4 := "llm: python mean of monthly charges"
	l.scripts[q4] = []func(map[string]any) (int, any){
		func(map[string]any) (int, any) {
			return 200, toolCalls([2]string{"run_python", `{"code": "import vds\ndf = vds.load(\"data\")\nprint(round(df.MonthlyCharges.mean(), 4))"}`})
		},
		func(req map[string]any) (int, any) {
			// pandas: telco.MonthlyCharges.mean() = 64.76169246059918
			if r := toolResults(req)["call_a"]; !strings.Contains(r, "64.7617") {
				fail("python result: " + r)
			}
			return 200, reply("The mean monthly charge is 64.76.")
		},
	}
	l.mu.Unlock()

	_, evs, ans := ask(t, llmConversation(t, ref), ref, q1)
	if ans.Text != "Month-to-month contracts churn most (42.7%)." {
		t.Errorf("answer text %q", ans.Text)
	}
	if v := ans.Values["rate(Churn)|Contract=Month-to-month"]; math.Abs(v-0.4270967741935484) > 1e-9 {
		t.Errorf("the answer's values come from the tools: got %v", v)
	}
	refused, debate := false, false
	for _, ev := range evs {
		if tc := ev.GetToolCall(); tc != nil && tc.Tool == "rm_rf" && strings.Contains(tc.Error, "refused") {
			refused = true
		}
		if ev.GetDebate() != nil {
			debate = true
		}
	}
	if !refused || !debate {
		t.Errorf("refused unknown tool %v, debate checks run %v", refused, debate)
	}
	// The debate is emitted after the model answered, with its prose where every number is backed.
	var claims []string
	keptOwn := false
	for _, ev := range evs {
		if d := ev.GetDebate(); d != nil {
			claims = append(claims, d.Role+"|"+d.Claim)
		}
		keptOwn = keptOwn || strings.Contains(ev.GetPlanSummary(), "keeps the checks' own prose: the model's version states 99.97%")
	}
	roles := strings.SplitN(debateTurns, "|", 3)
	if debateNum == "" || len(claims) < 2 || len(roles) < 3 || claims[0] != roles[0]+"|In plain words: the key number is "+debateNum+"." || claims[1] != roles[1]+"|"+roles[2] || !keptOwn {
		t.Errorf("debate prose: claims %q, turns sent %q, number %q, refusal reported %v", claims, debateTurns, debateNum, keptOwn)
	}

	_, evs2, ans2 := ask(t, llmConversation(t, ref), ref, q2)
	fellBack := false
	for _, ev := range evs2 {
		fellBack = fellBack || strings.Contains(ev.GetPlanSummary(), "language model failed")
	}
	if !fellBack || math.Abs(ans2.Values["rate(Churn)|Contract=Month-to-month"]-0.4270967741935484) > 1e-9 {
		t.Errorf("fallback %v, values %v", fellBack, ans2.Values)
	}

	_, _, ans3 := ask(t, llmConversation(t, ref), ref, q3)
	if ans3.Confidence != "low" || len(ans3.Values) != 0 {
		t.Errorf("an answer without tool results must carry no numbers and low confidence: %+v", ans3)
	}
	if _, _, a4 := ask(t, llmConversation(t, ref), ref, q4); a4.Text != "The mean monthly charge is 64.76." {
		t.Errorf("python answer %q", a4.Text)
	}
	l.mu.Lock()
	for _, a := range l.auth {
		if a != "Bearer test-key" {
			t.Errorf("Authorization header %q", a)
		}
	}
	if n := len(l.seen[q2]); n != 2 {
		t.Errorf("a failing endpoint is retried once: %d requests", n)
	}
	l.mu.Unlock()
	for _, f := range failures {
		t.Error(f)
	}
}

var modelIDRE = regexp.MustCompile(`model (mdl_[0-9a-f]{32})`)

// TestLLMIDTools drives each of the ID tools (profile, hypotheses, train, get_model, explain,
// explain_change, make_chart, lineage) through the scripted endpoint and checks that the real
// service's result reached the model (compared with the same service called directly) and that
// invalid IDs and columns are refused before anything runs.
func TestLLMIDTools(t *testing.T) {
	ref := dataset(t, "tabular/telco_churn.csv")
	c := platform(t)
	ctx := context.Background()
	var mu sync.Mutex
	var failures []string
	fail := func(f string) { mu.Lock(); failures = append(failures, f); mu.Unlock() }
	var modelID, profileID, modelAlgo string
	foreign := "mdl_" + strings.Repeat("0", 32)

	type convo struct {
		q string
		// same continues the previous conversation.
		same   bool
		script []func(map[string]any) (int, any)
		answer string
		check  func(evs []*orchestratorv1.Event, ans *orchestratorv1.Answer)
	}
	convos := []convo{
		{q: "llm: profile the data", answer: "7043 rows, no duplicates.", script: []func(map[string]any) (int, any){
			func(map[string]any) (int, any) { return 200, toolCalls([2]string{"profile", `{"target":"churn"}`}) },
			func(req map[string]any) (int, any) {
				r := toolResults(req)["call_a"]
				// pandas: telco.shape == (7043, 21), telco.duplicated().sum() == 0
				if !strings.Contains(r, "7043 rows, 21 columns, 0 duplicate rows") || !strings.Contains(r, "- tenure: 0 missing") {
					fail("profile result: " + truncStr(r, 300))
				}
				if m := regexp.MustCompile(`profile (prof_[0-9a-f]{32})`).FindStringSubmatch(r); m != nil {
					profileID = m[1]
				} else {
					fail("no profile ID in " + truncStr(r, 200))
				}
				return 200, reply("7043 rows, no duplicates.")
			},
		}, check: func(_ []*orchestratorv1.Event, ans *orchestratorv1.Answer) {
			if ans.Values["rows"] != 7043 || ans.Values["duplicate_rows"] != 0 {
				t.Errorf("profile values %v", ans.Values)
			}
		}},
		{q: "llm: hypotheses about churn", answer: "Contract matters.", script: []func(map[string]any) (int, any){
			func(map[string]any) (int, any) {
				return 200, toolCalls([2]string{"hypotheses", `{"target":"Churn","profile_id":"` + profileID + `"}`}, [2]string{"hypotheses", `{"target":"Churn","profile_id":"ds_123"}`})
			},
			func(req map[string]any) (int, any) {
				res := toolResults(req)
				h, err := c.Profiling.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: profileID, Target: "Churn", Fdr: 0.05})
				if err != nil {
					fail("direct hypotheses: " + err.Error())
					return 200, reply("Contract matters.")
				}
				surv := 0
				for _, x := range h.Hypotheses {
					if x.QValue <= 0.05 {
						surv++
					}
				}
				want := fmt.Sprintf("%d hypotheses tested (Benjamini-Hochberg at 0.05): %d survive", len(h.Hypotheses), surv)
				if len(h.Hypotheses) == 0 || !strings.HasPrefix(res["call_a"], want) || !strings.Contains(res["call_a"], "Contract") {
					fail("hypotheses result: " + truncStr(res["call_a"], 300) + " want " + want)
				}
				if !strings.HasPrefix(res["call_b"], "refused: argument profile_id") {
					fail("a dataset ID as profile_id: " + res["call_b"])
				}
				return 200, reply("Contract matters.")
			},
		}},
		{q: "llm: train, explain and trace a churn model", answer: "Trained and explained.", script: []func(map[string]any) (int, any){
			func(map[string]any) (int, any) {
				return 200, toolCalls([2]string{"train", `{"target":"Churn","budget_seconds":"2"}`})
			},
			func(req map[string]any) (int, any) {
				r := toolResults(req)["call_a"]
				m := modelIDRE.FindStringSubmatch(r)
				if m == nil {
					fail("train result: " + truncStr(r, 300))
					return 200, reply("Trained and explained.")
				}
				modelID = m[1]
				return 200, toolCalls([2]string{"get_model", `{"model_id":"` + modelID + `"}`}, [2]string{"explain", `{"model_id":"` + modelID + `","method":"permutation"}`},
					[2]string{"lineage", `{"artifact_id":"` + modelID + `"}`}, [2]string{"get_model", `{"model_id":"` + foreign + `"}`},
					[2]string{"explain", `{"model_id":"` + ref.DatasetId + `"}`}, [2]string{"explain", `{"model_id":"` + modelID + `","method":"pdp","columns":["tenure","happiness"]}`})
			},
			func(req map[string]any) (int, any) {
				res := toolResults(req)
				m, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: modelID})
				if err != nil {
					fail("direct model: " + err.Error())
					return 200, reply("Trained and explained.")
				}
				want := fmt.Sprintf("cross-validated %s %s", m.Model.Metric, strconv.FormatFloat(m.Model.CvScore, 'g', 4, 64))
				if !strings.Contains(res["call_a"], modelID) || !strings.Contains(res["call_a"], want) {
					fail("get_model result: " + truncStr(res["call_a"], 300) + " want " + want)
				}
				e, err := c.ML.Explain(ctx, &mlv1.ExplainRequest{ModelId: modelID})
				if err != nil || len(e.Importances) == 0 {
					fail(fmt.Sprintf("direct explain: %v", err))
				} else {
					top := e.Importances[0]
					for _, f := range e.Importances {
						if f.Importance > top.Importance {
							top = f
						}
					}
					if lines := strings.Split(res["call_b"], "\n"); len(lines) < 2 || !strings.HasPrefix(lines[1], "- "+top.Feature+": ") {
						fail("explain result: " + truncStr(res["call_b"], 300) + " top " + top.Feature)
					}
				}
				if !strings.Contains(res["call_c"], ref.DatasetId) {
					fail("lineage of the model does not reach the dataset: " + truncStr(res["call_c"], 300))
				}
				if !strings.HasPrefix(res["call_d"], "error: ") || !strings.Contains(strings.ToLower(res["call_d"]), "not found") {
					fail("a missing model: " + res["call_d"])
				}
				if !strings.HasPrefix(res["call_e"], "refused: argument model_id") {
					fail("a dataset ID as model_id: " + res["call_e"])
				}
				if !strings.HasPrefix(res["call_f"], "refused: argument columns = \"happiness\" is not a column") {
					fail("an unknown column: " + res["call_f"])
				}
				return 200, reply("Trained and explained.")
			},
		}, check: func(_ []*orchestratorv1.Event, ans *orchestratorv1.Answer) {
			m, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: modelID})
			if err != nil {
				t.Errorf("model %q: %v", modelID, err)
				return
			}
			if v, ok := ans.Values["cv_"+m.Model.Metric]; !ok || v != m.Model.CvScore {
				t.Errorf("cv score value %v, model %v", ans.Values, m.Model.CvScore)
			}
			modelAlgo = m.Model.GetAlgorithm()
		}},
		// A follow-up in the same conversation: the model sees the earlier exchange with the model's ID.
		{q: "llm: and its SHAP values?", same: true, answer: "SHAP agrees.", script: []func(map[string]any) (int, any){
			func(req map[string]any) (int, any) {
				msgs := req["messages"].([]any)
				var prev string
				for _, m := range msgs[1 : len(msgs)-1] {
					mm := m.(map[string]any)
					prev += fmt.Sprint(mm["role"], ": ", mm["content"], "\n")
				}
				if !strings.Contains(prev, "user: llm: train, explain and trace a churn model\nassistant: Trained and explained.") || !strings.Contains(prev, modelID) {
					fail("history sent to the model: " + truncStr(prev, 400))
				}
				return 200, toolCalls([2]string{"explain", `{"model_id":"` + modelID + `","method":"shap"}`})
			},
			func(req map[string]any) (int, any) {
				// What AutoML picks within the 2 s budget depends on the machine: a single tree or
				// linear model gets exact SHAP values, an ensemble sampled ones; both are explained.
				r := toolResults(req)["call_a"]
				if !strings.HasPrefix(r, "shap explanation of model "+modelID) || !strings.Contains(r, "- Contract: ") {
					fail("shap result (" + modelAlgo + "): " + truncStr(r, 300))
				}
				return 200, reply("SHAP agrees.")
			},
		}},
		{q: "llm: why does churn differ between women and men?", answer: "Women churn slightly more.", script: []func(map[string]any) (int, any){
			func(map[string]any) (int, any) {
				return 200, toolCalls([2]string{"explain_change", `{"outcome":"Churn","time":"gender","segments":"Contract, internet service"}`})
			},
			func(req map[string]any) (int, any) {
				// pandas: (telco.Churn == "Yes").groupby(telco.gender).mean(): Female 0.26920871559633025, Male 0.2616033755274262
				r := toolResults(req)["call_a"]
				// Without a causal graph the drivers' effects are estimated but labelled associational.
				if !strings.HasPrefix(r, "Churn went from 0.2692 (n=3488) to 0.2616 (n=3555)") || !strings.Contains(r, "Contract = Month-to-month") ||
					!strings.Contains(r, "\nEffect of ") || !strings.Contains(r, "ASSOCIATIONAL") {
					fail("explain_change result: " + truncStr(r, 300))
				}
				return 200, reply("Women churn slightly more.")
			},
		}, check: func(_ []*orchestratorv1.Event, ans *orchestratorv1.Answer) {
			if math.Abs(ans.Values["before(Churn)"]-0.26920871559633025) > 1e-9 || math.Abs(ans.Values["after(Churn)"]-0.2616033755274262) > 1e-9 {
				t.Errorf("explain_change values %v", ans.Values)
			}
		}},
		{q: "llm: chart churn by contract", answer: "See the chart: two-year contracts churn at 2.8%, one-year ones at 15%. (Not from any tool result: 15%.)", script: []func(map[string]any) (int, any){
			func(map[string]any) (int, any) {
				return 200, toolCalls([2]string{"make_chart", `{"sql":"SELECT Contract, avg(CASE WHEN Churn = 'Yes' THEN 1 ELSE 0 END) AS churn_rate FROM data GROUP BY 1 ORDER BY 1","x":"Contract","y":"churn_rate"}`},
					[2]string{"make_chart", `{"sql":"SELECT Contract FROM data","x":"Contract","y":"nope"}`},
					[2]string{"make_chart", `{"sql":"DROP TABLE data","x":"a","y":"b"}`})
			},
			func(req map[string]any) (int, any) {
				res := toolResults(req)
				if !regexp.MustCompile(`^chart cht_[0-9a-f]{32} \(bar, 3 points\)`).MatchString(res["call_a"]) || !strings.Contains(res["call_a"], "Month-to-month | 0.4271") {
					fail("make_chart result: " + res["call_a"])
				}
				if !strings.HasPrefix(res["call_b"], "refused: x = \"Contract\" and y = \"nope\"") || !strings.HasPrefix(res["call_c"], "refused: make_chart takes one read-only SELECT") {
					fail("make_chart refusals: " + res["call_b"] + " / " + res["call_c"])
				}
				// 2.8% is the tool's 0.02832; 15% is the model's invention (one-year is 0.1127).
				return 200, reply("See the chart: two-year contracts churn at 2.8%, one-year ones at 15%.")
			},
		}, check: func(evs []*orchestratorv1.Event, ans *orchestratorv1.Answer) {
			if ans.Confidence != "low" {
				t.Errorf("an answer with an invented number has confidence %q", ans.Confidence)
			}
			var got float64
			n := 0
			for _, ev := range evs {
				if ch := ev.GetChart(); ch != nil {
					n++
					for _, row := range ch.VegaLite.AsMap()["data"].(map[string]any)["values"].([]any) {
						if r := row.(map[string]any); r["category"] == "Month-to-month" {
							got = r["value"].(float64)
						}
					}
				}
			}
			if n != 1 || math.Abs(got-0.4270967741935484) > 1e-12 {
				t.Errorf("%d chart events; Month-to-month bar %v", n, got)
			}
		}},
	}
	conv := ""
	for _, cv := range convos {
		llm.mu.Lock()
		llm.scripts[cv.q] = cv.script
		llm.mu.Unlock()
		if !cv.same {
			conv = llmConversation(t, ref)
		}
		_, evs, ans := ask(t, conv, ref, cv.q)
		want := cv.answer
		if ans.Text != want {
			t.Errorf("%q: answer %q, want %q", cv.q, ans.Text, want)
		}
		if cv.check != nil {
			cv.check(evs, ans)
		}
		llm.mu.Lock()
		if n := len(llm.seen[cv.q]); n != len(cv.script) {
			t.Errorf("%q: %d requests, the script has %d", cv.q, n, len(cv.script))
		}
		llm.mu.Unlock()
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func truncStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
