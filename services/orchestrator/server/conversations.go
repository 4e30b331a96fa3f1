package server

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/planner"
	"github.com/vdsproject/vds/libs/storage"
)

// KindConversation is the resource kind of conversations.
const KindConversation = "conversation"

const (
	maxMessageText   = 4000
	maxMessages      = 200
	maxConversations = 200
)

func (s *Server) CreateConversation(ctx context.Context, req *orchestratorv1.CreateConversationRequest) (*orchestratorv1.CreateConversationResponse, error) {
	if err := ids.Check(req.ProjectId, ids.Project); err != nil {
		return nil, grpcx.InvalidArgument("project_id", err.Error())
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleEditor, "project", req.ProjectId); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(req.Title); n > 200 {
		return nil, grpcx.InvalidArgument("title", fmt.Sprintf("must be at most 200 characters (it has %d)", n))
	}
	if len(req.Datasets) > 16 {
		return nil, grpcx.InvalidArgument("datasets", "name at most 16 datasets")
	}
	pl := req.Planner
	switch pl {
	case "":
		pl = "builtin"
		if s.llm != nil {
			pl = "llm"
		}
	case "builtin":
	case "llm":
		if s.llm == nil {
			return nil, grpcx.FailedPrecondition("no LLM endpoint is configured (%s); use planner builtin", config.Setting("llm-base-url"))
		}
	default:
		return nil, grpcx.InvalidArgument("planner", "must be builtin, llm or empty")
	}
	c := &orchestratorv1.Conversation{Id: ids.New(ids.Conversion), ProjectId: req.ProjectId, Title: req.Title, CreateTime: timestamppb.Now(), Planner: pl}
	for _, ref := range req.Datasets {
		ds, ver, err := s.rt.DatasetVersion(ctx, ref)
		if err != nil {
			return nil, err
		}
		if ds.ProjectId != req.ProjectId {
			return nil, grpcx.NotFound("dataset", ref.GetDatasetId())
		}
		c.Datasets = append(c.Datasets, &commonv1.DatasetRef{DatasetId: ver.DatasetId, Version: ver.Version})
	}
	c.UpdateTime = c.CreateTime
	b, _ := proto.Marshal(c)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindConversation, ID: c.Id, ProjectID: c.ProjectId, State: "open", Data: b}); err != nil {
		return nil, grpcx.Internal(ctx, err, "create conversation")
	}
	return &orchestratorv1.CreateConversationResponse{Conversation: c}, nil
}

func (s *Server) loadConversation(ctx context.Context, id string, role int) (*orchestratorv1.Conversation, error) {
	if err := ids.Check(id, ids.Conversion); err != nil {
		return nil, grpcx.InvalidArgument("conversation_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindConversation, id)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "conversation", id)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, role, "conversation", id); err != nil {
		return nil, err
	}
	c := &orchestratorv1.Conversation{}
	if err := proto.Unmarshal(r.Data, c); err != nil {
		return nil, grpcx.Internal(ctx, err, "read conversation")
	}
	return c, nil
}

func (s *Server) GetConversation(ctx context.Context, req *orchestratorv1.GetConversationRequest) (*orchestratorv1.GetConversationResponse, error) {
	c, err := s.loadConversation(ctx, req.ConversationId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	return &orchestratorv1.GetConversationResponse{Conversation: c}, nil
}

func (s *Server) ListConversations(ctx context.Context, req *orchestratorv1.ListConversationsRequest) (*orchestratorv1.ListConversationsResponse, error) {
	if err := ids.Check(req.ProjectId, ids.Project); err != nil {
		return nil, grpcx.InvalidArgument("project_id", err.Error())
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleViewer, "project", req.ProjectId); err != nil {
		return nil, err
	}
	rs, err := s.rt.Store.ListResources(ctx, storage.ListQuery{Kind: KindConversation, ProjectID: req.ProjectId, Limit: maxConversations})
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list conversations")
	}
	out := &orchestratorv1.ListConversationsResponse{}
	for _, r := range rs {
		c := &orchestratorv1.Conversation{}
		if proto.Unmarshal(r.Data, c) != nil {
			continue
		}
		// The listing carries the messages of each conversation, not their events.
		for _, m := range c.Messages {
			m.Events = nil
		}
		out.Conversations = append(out.Conversations, c)
	}
	return out, nil
}

// SendMessage answers one question in a conversation, streaming every event as it happens, and
// persists the question, the events and the answer.
func (s *Server) SendMessage(req *orchestratorv1.SendMessageRequest, stream orchestratorv1.OrchestratorService_SendMessageServer) error {
	ctx := stream.Context()
	asked := timestamppb.Now()
	c, err := s.loadConversation(ctx, req.ConversationId, storage.RoleEditor)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		return grpcx.InvalidArgument("text", "must not be empty")
	case len(text) > maxMessageText:
		return grpcx.InvalidArgument("text", fmt.Sprintf("must be at most %d characters", maxMessageText))
	case len(c.Datasets) == 0:
		return grpcx.FailedPrecondition("conversation %s has no dataset; create it with one", c.Id)
	case len(c.Messages) >= maxMessages:
		return grpcx.ResourceExhausted("conversation %s has %d messages, the limit; start a new one", c.Id, maxMessages)
	case len(req.Selections) > 16:
		return grpcx.InvalidArgument("selections", "give at most 16 selections")
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, c.ProjectId, storage.RoleEditor, "conversation", c.Id)
	if err != nil {
		return err
	}
	uctx, err := s.rt.ActAs(ctx, who.UserID, c.ProjectId)
	if err != nil {
		return grpcx.Internal(ctx, err, "act as user")
	}
	ref := c.Datasets[len(c.Datasets)-1]
	tl := &tools{s: s, project: c.ProjectId, ref: ref}
	sch, err := tl.schema(uctx)
	if err != nil {
		return grpcx.Internal(ctx, err, "read the dataset's schema")
	}
	filter, err := selectionFilter(sch, req.Selections)
	if err != nil {
		return err
	}
	// The question's place in the conversation, taken now: its exchange is stored there whenever
	// it finishes (insertExchange).
	seq, err := s.nextSequence(ctx, c.Id)
	if err != nil {
		return grpcx.FromStorage(ctx, err, "conversation", c.Id)
	}
	user := &orchestratorv1.Message{Id: ids.New(ids.Message), Role: "user", Text: text, CreateTime: asked, Sequence: seq}
	// Context: a reply to an earlier ask-back completes that question.
	question := text
	if n := len(c.Messages); n >= 2 && c.Messages[n-1].Role == "assistant" && isClarification(c.Messages[n-1]) {
		question = c.Messages[n-2].Text + " " + text
	}
	asst := &orchestratorv1.Message{Id: ids.New(ids.Message), Role: "assistant", CreateTime: timestamppb.Now(), Sequence: seq}
	opts := planner.Options{Filter: filter, Previous: lastIntent(c), History: history(c)}
	var sendErr error
	send := func(ev *orchestratorv1.Event) {
		asst.Events = append(asst.Events, ev)
		if sendErr == nil {
			sendErr = stream.Send(&orchestratorv1.SendMessageResponse{Event: ev})
		}
	}
	// A selection scopes the answer: say so first, and open the answer with it.
	scope := selectionScope(req.Selections)
	wholeData := false // a model or effect estimate ran (those use every row)
	emit := send
	if scope != "" {
		send(&orchestratorv1.Event{Time: timestamppb.Now(), Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: "Scoped to the selection " + scope + ": the queries run over those rows only."}})
		emit = func(ev *orchestratorv1.Event) {
			if tc := ev.GetToolCall(); tc != nil && (tc.Tool == "train" || tc.Tool == "estimate_effect") {
				wholeData = true
			}
			if a := ev.GetAnswer(); a != nil {
				a.Text = scopedAnswer(scope, wholeData, a.Text)
			}
			send(ev)
		}
	}
	var res *planner.Result
	if why := notAnalysisQuestion(ctx, text, sch); why != "" {
		// Not a question about the data (a SQL statement): say so rather than analyse something.
		asst.Text = why
		send(&orchestratorv1.Event{Time: timestamppb.Now(), Kind: &orchestratorv1.Event_Answer{Answer: &orchestratorv1.Answer{Text: why, Values: map[string]float64{}, Confidence: ConfidenceRefused}}})
	} else if res, err = s.answer(uctx, c.Planner, tl, sch, question, opts, emit); err != nil && s.isStopping() && ctx.Err() == nil {
		// The service stopped under the question (its jobs were not waited for): the exchange is kept
		// as not answered, and the caller is told the service is stopping, not that the analysis failed.
		asst.Text = "Not answered: the service stopped before the answer was ready; ask again."
		asst.Events = append(asst.Events, &orchestratorv1.Event{Time: timestamppb.Now(), Kind: &orchestratorv1.Event_Answer{Answer: &orchestratorv1.Answer{Text: asst.Text, Confidence: "none"}}})
		sendErr = grpcx.Stopping("the orchestrator stopped before the answer was ready (conversation %s); ask again once it is back", c.Id)
	} else if err != nil {
		asst.Text = "The analysis failed: " + err.Error()
		emit(&orchestratorv1.Event{Time: timestamppb.Now(), Kind: &orchestratorv1.Event_Answer{Answer: &orchestratorv1.Answer{Text: asst.Text, Confidence: "none"}}})
	} else {
		asst.Text = scopedAnswer(scope, wholeData, res.Answer.Text)
	}
	title := c.Title
	if title == "" {
		title = truncate(text, 80)
	}
	if _, uerr := s.rt.Store.UpdateResource(context.WithoutCancel(ctx), KindConversation, c.Id, func(r storage.Resource) (storage.Resource, error) {
		cur := &orchestratorv1.Conversation{}
		if err := proto.Unmarshal(r.Data, cur); err != nil {
			return r, err
		}
		cur.Title = title
		cur.Messages = insertExchange(cur.Messages, user, asst)
		cur.UpdateTime = timestamppb.Now()
		b, err := proto.Marshal(cur)
		r.Data = b
		return r, err
	}); uerr != nil {
		return grpcx.Internal(ctx, uerr, "save conversation")
	}
	if res != nil {
		in := fmt.Sprintf("%s.v%d", sch.DatasetID, sch.Version)
		for _, ch := range res.Charts {
			_ = lineage.Record(context.WithoutCancel(ctx), s.rt.Store, &lineagev1.Artifact{Id: ch.Id, Kind: "chart", ProjectId: c.ProjectId, Label: ch.Title},
				[]string{in}, "ask", map[string]string{"conversation": c.Id, "question": truncate(question, 500)})
		}
		for _, f := range res.Findings {
			_ = lineage.Record(context.WithoutCancel(ctx), s.rt.Store, &lineagev1.Artifact{Id: f.Id, Kind: "finding", ProjectId: c.ProjectId, Label: truncate(f.Statement, 200)},
				[]string{in}, "ask", map[string]string{"conversation": c.Id, "query": truncate(f.Query, 2000)})
		}
	}
	return sendErr
}

// nextSequence gives a question that has just arrived its sequence number in the conversation
// (Message.sequence): one more than the conversation's last, in the same write. A conversation
// stored before sequence numbers counts its questions so far.
func (s *Server) nextSequence(ctx context.Context, id string) (int32, error) {
	var seq int32
	_, err := s.rt.Store.UpdateResource(ctx, KindConversation, id, func(r storage.Resource) (storage.Resource, error) {
		cur := &orchestratorv1.Conversation{}
		if err := proto.Unmarshal(r.Data, cur); err != nil {
			return r, err
		}
		seq = lastSequence(cur) + 1
		cur.LastSequence = seq
		b, err := proto.Marshal(cur)
		r.Data = b
		return r, err
	})
	return seq, err
}

// lastSequence is the highest sequence number a conversation has given: its last_sequence, or for
// a conversation from before sequence numbers, its questions so far.
func lastSequence(c *orchestratorv1.Conversation) int32 {
	last, questions := c.LastSequence, int32(0)
	for _, m := range c.Messages {
		last = max(last, m.Sequence)
		if m.Role == "user" {
			questions++
		}
	}
	return max(last, questions)
}

// isStopping reports whether the service has begun to stop.
func (s *Server) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false // also when stopping is nil
	}
}

// insertExchange stores a question and its answer in the order the questions were asked, by the
// sequence number each question got when it arrived: a run that finishes after a later-asked one
// (two messages sent concurrently) goes before it rather than at the end. Messages without a
// sequence number (stored before there were any) stay where they are.
func insertExchange(msgs []*orchestratorv1.Message, user, asst *orchestratorv1.Message) []*orchestratorv1.Message {
	at := len(msgs)
	for at >= 2 && msgs[at-1].Role == "assistant" && msgs[at-2].Role == "user" && msgs[at-2].Sequence > user.Sequence {
		at -= 2 // a later question with its answer: go before it
	}
	out := make([]*orchestratorv1.Message, 0, len(msgs)+2)
	out = append(append(append(out, msgs[:at]...), user, asst), msgs[at:]...)
	return out
}

// A message is a SQL statement rather than a question when it has one of SQL's shapes (at the
// start or after a semicolon), each needing more than a first word, so that questions such as
// "Grant amounts by department?", "vacuum sales by month", "attach rate by region" or "copy sales
// to a spreadsheet" are analysed.
//
// sqlDataStatementRE: DDL and DML (DROP/CREATE… TABLE, DELETE FROM, INSERT INTO, UPDATE x SET).
// English often has this shape ("Create table of average tip by day", "Update rate set by region?",
// "Drop table rows with missing tip?"), so a part of the message matching it counts only when
// DuckDB's parser also takes that part as SQL.
var sqlDataStatementRE = regexp.MustCompile(`(?is)^\s*(` +
	`(drop|truncate|alter|create(\s+or\s+replace)?)\s+(temp(orary)?\s+)?(table|view|index|schema|database|sequence|macro|function|type|secret)\b` +
	`|delete\s+from\b|insert\s+(or\s+\w+\s+)?into\b|update\s+["\w.]+\s+set\b)`)

// sqlShapeRE: statements whose shape is already strict (GRANT/REVOKE name a privilege and ON,
// ATTACH a quoted path, DETACH one name, COPY a quoted file, VACUUM stands alone, with ANALYZE or
// with one name and a semicolon; some of these DuckDB does not parse at all), and the shapes of an
// injection attempt: "; --" after a SELECT ... FROM or WITH x AS (, or after a closing quote.
var sqlShapeRE = regexp.MustCompile(`(?is)(^|;)\s*(` +
	`merge\s+into\b` +
	`|(grant|revoke)\s+(select|insert|update|delete|all|usage)\b.*\bon\b` +
	`|attach\s+(database\s+)?(if\s+not\s+exists\s+)?'[^']*'|detach\s+(database\s+)?(if\s+exists\s+)?["\w]+\s*(;|$)` +
	`|copy\s+(\(.*\)|["\w.]+)\s+(to|from)\s+'|pragma\s+\w` +
	`|vacuum\s*(;|$)|vacuum\s+analyze\b|vacuum\s+["\w.]+\s*;` +
	`)|^\s*(select\b.*\bfrom\b|with\s+["\w]+\s+as\s*\().*;\s*--|'\s*\)?\s*;\s*--`)

// ConfidenceRefused is the answer's confidence for a message that is not a question about the
// data (a SQL statement or query): nothing was planned or run.
const ConfidenceRefused = "refused"

// sqlQueryStartRE: a message that starts like a query (SELECT, WITH, FROM, VALUES, TABLE); it is
// one when DuckDB's parser takes it as SQL ("Select the best day for tips" does not parse).
var sqlQueryStartRE = regexp.MustCompile(`(?i)^\s*\(?\s*(select|with|from|values|table)\b`)

// isSQLQuery reports whether text is a read-only SQL query written as a question.
func isSQLQuery(ctx context.Context, text string) bool {
	if !sqlQueryStartRE.MatchString(text) {
		return false
	}
	isSQL, err := duck.ParsesAsSQL(ctx, text)
	return err == nil && isSQL
}

// isSQLStatement reports whether text is a SQL statement (see sqlShapeRE and sqlDataStatementRE).
func isSQLStatement(ctx context.Context, text string) bool {
	if sqlShapeRE.MatchString(text) {
		return true
	}
	for _, part := range strings.Split(text, ";") {
		if !sqlDataStatementRE.MatchString(part) {
			continue
		}
		if isSQL, err := duck.ParsesAsSQL(ctx, part); err != nil || isSQL {
			return true // when the parser cannot be asked, the shape decides
		}
	}
	return false
}

// notAnalysisQuestion returns the answer to a message that is not a question about the data (a SQL
// statement such as DROP TABLE), or "" for a question to analyse. Nothing runs for such a message.
func notAnalysisQuestion(ctx context.Context, text string, sch *planner.Schema) string {
	var cols []string
	for i, c := range sch.Columns {
		if i == 8 {
			cols = append(cols, "…")
			break
		}
		cols = append(cols, c.Name)
	}
	if !isSQLStatement(ctx, text) {
		if isSQLQuery(ctx, text) {
			return "That is a SQL query, not a question in words, so I did not run it. To run it yourself, use `vds exec --sql` " +
				"with the dataset (its table is named after the file, e.g. tips.csv → tips), or ask in plain words " +
				"(an average, a comparison by a column, a trend); the columns are: " + strings.Join(cols, ", ") + "."
		}
		return ""
	}
	return "That is a SQL statement, not a question about the data, so I did not run it and nothing was analysed or changed " +
		"(the data is read-only here: I cannot drop, delete or modify tables). Ask what you want to know in plain words, " +
		"for example an average, a comparison by a column, a trend, or why a column is high; the columns are: " + strings.Join(cols, ", ") +
		". To run a read-only query yourself, use `vds exec --sql`."
}

// answer runs the planner: the LLM planner when one is configured, the built-in one otherwise.
// When the model's endpoint fails, the built-in planner answers instead and says so.
func (s *Server) answer(ctx context.Context, which string, tl *tools, sch *planner.Schema, question string, o planner.Options, emit func(*orchestratorv1.Event)) (*planner.Result, error) {
	if which == "llm" && s.llm != nil {
		res, err := s.llm.Answer(ctx, tl, sch, question, o, emit)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		emit(&orchestratorv1.Event{Time: timestamppb.Now(), Kind: &orchestratorv1.Event_PlanSummary{PlanSummary: "The language model failed (" + err.Error() + "); the built-in planner answers instead."}})
	}
	return planner.Answer(ctx, tl, sch, question, o, emit)
}

// history is the conversation's earlier questions with their answers and the IDs of what their tool
// calls made (profiles, models, charts…), oldest first.
func history(c *orchestratorv1.Conversation) []planner.Exchange {
	var out []planner.Exchange
	for i := 0; i+1 < len(c.Messages); i++ {
		u, a := c.Messages[i], c.Messages[i+1]
		if u.Role != "user" || a.Role != "assistant" {
			continue
		}
		ex := planner.Exchange{Question: u.Text, Answer: a.Text}
		seen := map[string]bool{}
		add := func(id string) {
			if id != "" && !seen[id] && len(ex.Artifacts) < 20 {
				seen[id] = true
				ex.Artifacts = append(ex.Artifacts, id)
			}
		}
		for _, ev := range a.Events {
			if tc := ev.GetToolCall(); tc != nil {
				for _, id := range tc.ArtifactIds {
					add(id)
				}
			}
			if ch := ev.GetChart(); ch != nil {
				add(ch.Id)
			}
		}
		out = append(out, ex)
		i++
	}
	return out
}

// lastIntent is the intent of the conversation's last answered question (not an ask-back).
func lastIntent(c *orchestratorv1.Conversation) *planner.Intent {
	for i := len(c.Messages) - 1; i >= 0; i-- {
		for _, ev := range c.Messages[i].Events {
			if in := planner.FromProto(ev.Intent); in != nil && in.Kind != planner.Clarify {
				return in
			}
		}
	}
	return nil
}

func isClarification(m *orchestratorv1.Message) bool {
	for _, ev := range m.Events {
		if ev.GetClarification() != "" {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// selectionScope says what the user selected, e.g. "Contract = Month-to-month" or
// "12 ≤ tenure ≤ 24"; empty without selections.
func selectionScope(sels []*orchestratorv1.Selection) string {
	var parts []string
	for _, sel := range sels {
		if len(sel.Values) > 0 {
			parts = append(parts, sel.Field+" = "+strings.Join(sel.Values, " or "))
		} else if sel.RangeHigh > sel.RangeLow {
			parts = append(parts, fmt.Sprintf("%g ≤ %s ≤ %g", sel.RangeLow, sel.Field, sel.RangeHigh))
		}
	}
	return strings.Join(parts, " and ")
}

// scopedAnswer opens an answer with the selection it was computed over (once).
func scopedAnswer(scope string, wholeData bool, text string) string {
	if scope == "" {
		return text
	}
	prefix := "Over the selected rows (" + scope + "): "
	if wholeData {
		prefix = "Over the selected rows (" + scope + "; the model and effect estimates use every row): "
	}
	if strings.HasPrefix(text, "Over the selected rows (") {
		return text
	}
	return prefix + text
}

// selectionFilter turns what the user clicked into a SQL condition on known columns only.
func selectionFilter(s *planner.Schema, sels []*orchestratorv1.Selection) (string, error) {
	var conds []string
	for i, sel := range sels {
		c := s.Col(sel.Field)
		if c == nil {
			return "", grpcx.InvalidArgument(fmt.Sprintf("selections[%d].field", i), fmt.Sprintf("%q is not a column of the dataset", sel.Field))
		}
		col := `"` + strings.ReplaceAll(c.Name, `"`, `""`) + `"`
		switch {
		case len(sel.Values) > 0:
			var vs []string
			for _, v := range sel.Values {
				vs = append(vs, "'"+strings.ReplaceAll(v, "'", "''")+"'")
			}
			sort.Strings(vs)
			conds = append(conds, fmt.Sprintf("CAST(%s AS VARCHAR) IN (%s)", col, strings.Join(vs, ", ")))
		case sel.RangeHigh > sel.RangeLow:
			conds = append(conds, fmt.Sprintf("%s BETWEEN %g AND %g", col, sel.RangeLow, sel.RangeHigh))
		default:
			return "", grpcx.InvalidArgument(fmt.Sprintf("selections[%d]", i), "give values or a range with range_high > range_low")
		}
	}
	return strings.Join(conds, " AND "), nil
}

func (s *Server) GetReport(ctx context.Context, req *orchestratorv1.GetReportRequest) (*orchestratorv1.GetReportResponse, error) {
	c, err := s.loadConversation(ctx, req.ConversationId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(req.Format) {
	case "", "markdown", "md":
		return &orchestratorv1.GetReportResponse{Content: planner.Markdown(c), ContentType: "text/markdown; charset=utf-8"}, nil
	case "html":
		return &orchestratorv1.GetReportResponse{Content: planner.HTML(c), ContentType: "text/html; charset=utf-8"}, nil
	}
	return nil, grpcx.InvalidArgument("format", "must be markdown or html")
}
