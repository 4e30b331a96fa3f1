package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

func init() {
	register("ask", command{
		usage: "ask FILE_OR_DATASET_ID \"QUESTION\" [--conversation ID] [--format json] [flags]",
		help:  "ask a question about a data file or dataset; the plan, tool calls and debate stream to stderr",
		run:   cmdAsk,
	})
}

// errRefused is the exit-1 error of a message that is SQL rather than a question (the answer on
// stdout says so and how to run it).
var errRefused = errors.New("ask: that was SQL, not a question about the data, so nothing was run (see the answer above)")

// errNotUnderstood is the exit-1 error of a question the planner could not turn into an analysis.
var errNotUnderstood = errors.New("ask: the question was not understood. Questions that work name columns of the data and ask for " +
	"a number (\"What is the average tip?\", \"How many rows are there?\"), a comparison (\"Is the tip higher for smokers?\", \"tip by day\"), " +
	"a relationship (\"correlation of tip and total_bill\"), a trend over a date or year column, drivers (\"Why is churn high?\"), " +
	"a prediction, an effect, segments, outliers or data quality")

// errAnalysisFailed is the exit-1 error of a question that was understood but whose analysis failed
// (the answer on stdout names the step and the reason).
var errAnalysisFailed = errors.New("ask: the question was understood but its analysis failed (see the answer above); rephrase it, or run the failing step yourself (vds effect, vds analyze, vds exec) for its options")

// askJSON is the --format json answer.
type askJSON struct {
	ConversationID string             `json:"conversation_id"`
	Intent         string             `json:"intent,omitempty"`
	Text           string             `json:"text"`
	Confidence     string             `json:"confidence"`
	Values         map[string]float64 `json:"values"`
	Clarification  string             `json:"clarification,omitempty"`
	Charts         []string           `json:"charts"`
}

func cmdAsk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ask", "vds ask FILE_OR_DATASET_ID \"QUESTION\" — answer a question with numbers from the data, a debate of checks and a confidence; "+
		"events stream to stderr, the answer goes to stdout", stderr)
	var pf platformFlags
	pf.bind(fs)
	conv := fs.String("conversation", "", "continue this conversation (cnv_…): earlier questions and ask-backs give context")
	format := fs.String("format", "text", "output format: text or json (text, confidence and the key numbers as named values)")
	plannerName := fs.String("planner", "", "builtin (no network) or llm (the configured endpoint); default: llm when configured")
	quiet := fs.Bool("quiet", false, "do not print the events on stderr")
	var cf connFlags
	cf.bind(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var input, question string
	switch {
	case len(pos) == 2:
		input, question = pos[0], pos[1]
	case len(pos) == 1 && *conv != "":
		question = pos[0]
	default:
		return usageError{"ask needs a data file or dataset ID and a question: vds ask FILE_OR_DATASET_ID \"QUESTION\" (or --conversation ID \"QUESTION\")"}
	}
	if strings.TrimSpace(question) == "" {
		return usageError{"the question is empty"}
	}
	if err := oneOf("format", *format, "json", "text"); err != nil {
		return err
	}
	if err := oneOfOrDefault("planner", *plannerName, "llm when the server has an LLM endpoint configured, else builtin", "builtin", "llm"); err != nil {
		return err
	}
	bar := newProgress(stderr, true)
	defer bar.done()
	c, proj, stop, err := connect(ctx, &pf, &cf, bar)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Close()
	id := *conv
	if id != "" && input != "" {
		if err := checkConversationDataset(ctx, c, id, input); err != nil {
			return err
		}
	}
	if id == "" {
		ref, name, err := resolveInput(ctx, c, proj, input)
		if err != nil {
			return err
		}
		cc, err := c.Orchestrator.CreateConversation(ctx, &orchestratorv1.CreateConversationRequest{ProjectId: proj, Title: conversationTitle(name, question),
			Datasets: []*commonv1.DatasetRef{ref}, Planner: *plannerName})
		if err != nil {
			return explain(err, "conversation")
		}
		id = cc.Conversation.Id
	}
	if !*quiet {
		fmt.Fprintf(stderr, "conversation %s\n", id)
	}
	st, err := c.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: id, Text: question})
	if err != nil {
		if ctx.Err() != nil {
			return interruptedError{"the question was not answered (conversation " + id + ")"}
		}
		return explain(err, "ask")
	}
	out := askJSON{ConversationID: id, Values: map[string]float64{}, Charts: []string{}}
	var ans *orchestratorv1.Answer
	// candidates is whether an ask-back offered columns to choose from (-1 when unknown: an older server
	// or a clarification without an intent).
	candidates := -1
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil { // Ctrl-C
				return interruptedError{"the question was not answered (conversation " + id + ")"}
			}
			return explain(err, "ask")
		}
		ev := r.Event
		if !*quiet {
			printEvent(stderr, ev)
		}
		if ev.Intent != nil && out.Intent == "" {
			out.Intent = ev.Intent.Kind
		}
		switch k := ev.Kind.(type) {
		case *orchestratorv1.Event_Clarification:
			out.Clarification, out.Intent = k.Clarification, "clarify"
			if ev.Intent != nil {
				candidates = len(ev.Intent.Options)
			}
		case *orchestratorv1.Event_Chart:
			out.Charts = append(out.Charts, k.Chart.Id)
		case *orchestratorv1.Event_Answer:
			ans = k.Answer
		}
	}
	if ans == nil {
		return errors.New("ask: the stream ended without an answer")
	}
	out.Text, out.Confidence = ans.Text, ans.Confidence
	for k, v := range ans.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) { // JSON has no NaN (an LLM planner's values may hold one)
			out.Values[k] = v
		}
	}
	// Not understood: an ask-back with no columns to choose from, or an answer with no confidence at all.
	// The answer still goes to stdout (it names the columns); the exit status says it is not an answer.
	notUnderstood := out.Clarification != "" && candidates == 0 || out.Clarification == "" && ans.Confidence == "none"
	// Refused (a SQL statement or query sent as a question): the answer says why; nothing ran.
	var fail error
	switch {
	case ans.Confidence == "refused":
		fail = errRefused
	case out.Clarification == "" && ans.Confidence == "none" && strings.HasPrefix(ans.Text, "The analysis failed"):
		// Understood, planned and run, but a step failed: say that, not "not understood".
		fail = errAnalysisFailed
	case notUnderstood:
		fail = errNotUnderstood
	}
	if *format == "json" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		if _, err = fmt.Fprintln(stdout, string(b)); err != nil {
			return err
		}
		return fail
	}
	fmt.Fprintln(stdout, fixCounts(ans.Text))
	if fail != nil {
		return fail
	}
	if len(ans.Values) > 0 {
		var ks []string
		for k := range ans.Values {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			fmt.Fprintf(stdout, "  %s = %.6g\n", k, ans.Values[k])
		}
	}
	return nil
}

// checkConversationDataset refuses a question about another dataset than the conversation's:
// vds ask --conversation C DATASET "QUESTION" with DATASET (an ID, or a file, compared by its
// SHA-256 with the bytes the conversation's dataset version was read from; nothing is uploaded)
// not the one C is about. The conversation answers about its latest dataset, and the named one
// would be silently ignored.
func checkConversationDataset(ctx context.Context, c *client.Client, conv, input string) error {
	gc, err := c.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: conv})
	if err != nil {
		return explain(err, "conversation "+conv)
	}
	ds := gc.Conversation.GetDatasets()
	if len(ds) == 0 {
		return nil
	}
	have := ds[len(ds)-1] // the dataset SendMessage answers about
	ref := &commonv1.DatasetRef{}
	if id, ver := splitDatasetID(input); datasetIDRE.MatchString(input) && !fileExists(input) {
		ref.DatasetId, ref.Version = id, ver
	} else {
		sum, err := fileSHA256(input)
		if err != nil {
			return err
		}
		v, err := c.Datasets.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: have.DatasetId, Version: have.Version})
		if err != nil {
			return explain(err, "dataset "+have.DatasetId)
		}
		if v.GetVersion().GetOrigin().GetSourceSha256() == sum {
			return nil
		}
	}
	if ref.DatasetId == have.DatasetId && (ref.Version == 0 || have.Version == 0 || ref.Version == have.Version) {
		return nil
	}
	name := ""
	if d, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: have.DatasetId}); err == nil && d.Dataset.GetName() != "" {
		name = " (" + d.Dataset.GetName() + ")"
	}
	what := input
	if ref.DatasetId == "" {
		what += " (other bytes than the conversation's dataset was read from)"
	}
	return fmt.Errorf("conversation %s is about dataset %s%s; to ask about %s start a new conversation (omit --conversation)",
		conv, have.DatasetId, name, what)
}

// printEvent writes one event as a line (or a few) for a person watching stderr.
func printEvent(w io.Writer, ev *orchestratorv1.Event) {
	switch k := ev.Kind.(type) {
	case *orchestratorv1.Event_PlanSummary:
		fmt.Fprintf(w, "plan: %s\n", k.PlanSummary)
	case *orchestratorv1.Event_StepStarted:
		fmt.Fprintf(w, "▶ %s %s\n", k.StepStarted.Id, k.StepStarted.Description)
	case *orchestratorv1.Event_StepFinished:
		fmt.Fprintf(w, "✓ %s\n", k.StepFinished.Id)
	case *orchestratorv1.Event_ToolCall:
		tc := k.ToolCall
		name := tc.Tool
		if p := tc.Arguments["purpose"]; p != "" {
			name += " (" + p + ")"
		}
		if tc.Error != "" {
			fmt.Fprintf(w, "  tool %s: error: %s\n", name, tc.Error)
		} else {
			fmt.Fprintf(w, "  tool %s: %s\n", name, oneLineN(fixCounts(tc.ResultSummary), 160))
		}
	case *orchestratorv1.Event_Finding:
		fmt.Fprintf(w, "  finding: %s\n", oneLineN(k.Finding.Statement, 240))
	case *orchestratorv1.Event_Chart:
		fmt.Fprintf(w, "  chart %s: %s\n", k.Chart.Id, k.Chart.Title)
	case *orchestratorv1.Event_Debate:
		fmt.Fprintf(w, "  [%s] %s\n", k.Debate.Role, k.Debate.Claim)
		for _, e := range k.Debate.Evidence {
			fmt.Fprintf(w, "      - %s\n", e)
		}
	case *orchestratorv1.Event_Clarification:
		fmt.Fprintf(w, "question back: %s\n", k.Clarification)
	case *orchestratorv1.Event_Answer:
		fmt.Fprintf(w, "answer (confidence %s)\n", k.Answer.Confidence)
	}
}

func oneLineN(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// fileSHA256 is the hex SHA-256 of a file's bytes, as ingestion records it for an upload.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// conversationTitle names a new conversation after the dataset and the question, shortened to the
// orchestrator's 200 characters (a long question is still asked whole).
func conversationTitle(name, question string) string {
	t := []rune(name + ": " + strings.Join(strings.Fields(question), " "))
	if len(t) > 200 {
		t = append(t[:199], '…')
	}
	return string(t)
}
