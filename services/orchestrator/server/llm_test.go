package server_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
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
