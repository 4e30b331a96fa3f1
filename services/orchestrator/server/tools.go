package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/planner"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/semantic"
)

// tools calls the platform's services by dataset ID for the planner.
type tools struct {
	s       *Server
	project string
	ref     *commonv1.DatasetRef
}

// profileDone waits for a profile's job unless it has already succeeded. StartProfile reports a
// profile as cached as soon as one exists for the version, which may still be queued or running
// (profiling starts one after every ingest).
func (s *Server) profileDone(ctx context.Context, jobID string, wait func(context.Context, string) error) error {
	if jobID == "" {
		return nil
	}
	if j, err := s.rt.Queue.Get(ctx, jobID); err == nil && j.State == jobsv1.JobState_JOB_STATE_SUCCEEDED {
		return nil
	}
	return wait(ctx, jobID)
}

// waitJob waits for a peer's job (a question's training, effect or profile) to end. When the
// service begins to stop it stops waiting at once, rather than holding the stop for the drain's
// bound: the job goes on (or goes back to its queue), but this answer cannot wait for it.
func (t *tools) waitJob(ctx context.Context, jobID string) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.s.stopping: // never, when stopping is nil
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := t.s.rt.Queue.Watch(wctx, jobID, func(*jobsv1.JobEvent) error { return nil }); err != nil {
		if ctx.Err() == nil && t.s.isStopping() {
			return fmt.Errorf("the orchestrator stopped before job %s ended (it goes on, or goes back to its queue); ask again once the platform is back", jobID)
		}
		return err
	}
	j, err := t.s.rt.Queue.Get(ctx, jobID)
	if err != nil {
		return err
	}
	if j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		return fmt.Errorf("%s job %s %s: %s", j.Kind, j.Id, strings.ToLower(strings.TrimPrefix(j.State.String(), "JOB_STATE_")), j.Error)
	}
	return nil
}

// waitOwnJob is waitJob for a job started for this question alone (its training, its effect
// estimate): when the question stops waiting because its caller is gone (the client's stream ended:
// Ctrl-C on vds ask, a closed page), the job is cancelled too rather than left to spend its budget
// for an answer nobody reads, as a cancelled analysis cancels its training (analysis.waitOwnJob).
// When the orchestrator is stopping, the job goes on (waitJob says so). Profiles are not cancelled:
// one profile per dataset version is shared by every question and analysis that asks for it.
func (t *tools) waitOwnJob(ctx context.Context, jobID string) error {
	err := t.waitJob(ctx, jobID)
	if ctx.Err() != nil && !t.s.isStopping() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, cerr := t.s.rt.Queue.Cancel(cctx, jobID); cerr != nil {
			t.s.rt.Log.WarnContext(cctx, "could not cancel the job of a question whose caller left", "job", jobID, "err", cerr)
		}
	}
	return err
}

// SQL runs a query in the sandbox; the dataset is the table "data".
func (t *tools) SQL(ctx context.Context, query string) (*planner.Table, error) {
	conn, err := t.s.rt.Peer("sandbox")
	if err != nil {
		return nil, err
	}
	st, err := sandboxv1.NewSandboxServiceClient(conn).Execute(ctx, &sandboxv1.ExecuteRequest{ProjectId: t.project, Language: sandboxv1.Language_LANGUAGE_SQL,
		Code: query, Inputs: []*sandboxv1.Input{{Dataset: t.ref, Alias: "data"}}, Limits: &sandboxv1.Limits{MaxRows: 100000}})
	if err != nil {
		return nil, err
	}
	var out *planner.Table
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch e := ev.Event.(type) {
		case *sandboxv1.ExecuteResponse_Table:
			if out, err = decodeTable(e.Table.ArrowIpc); err != nil {
				return nil, err
			}
		case *sandboxv1.ExecuteResponse_Status:
			if e.Status.Outcome != sandboxv1.Outcome_OUTCOME_OK {
				return nil, fmt.Errorf("sandbox %s: %s", strings.ToLower(strings.TrimPrefix(e.Status.Outcome.String(), "OUTCOME_")), e.Status.Message)
			}
		}
	}
	if out == nil {
		return nil, errors.New("sandbox returned no table")
	}
	return out, nil
}

func decodeTable(b []byte) (*planner.Table, error) {
	rd, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	t := &planner.Table{}
	for _, f := range rd.Schema().Fields() {
		t.Columns = append(t.Columns, f.Name)
	}
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for j := 0; j < int(rec.NumCols()); j++ {
				row[j] = cell(rec.Column(j), i)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t, rd.Err()
}

func cell(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch c := a.(type) {
	case *array.Float64:
		return c.Value(i)
	case *array.Float32:
		return float64(c.Value(i))
	case *array.Int64:
		return float64(c.Value(i))
	case *array.Int32:
		return float64(c.Value(i))
	case *array.Int16:
		return float64(c.Value(i))
	case *array.Int8:
		return float64(c.Value(i))
	case *array.Uint64:
		return float64(c.Value(i))
	case *array.Uint32:
		return float64(c.Value(i))
	case *array.Boolean:
		return c.Value(i)
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Decimal128:
		dt := c.DataType().(*arrow.Decimal128Type)
		return c.Value(i).ToFloat64(dt.Scale)
	case *array.Timestamp:
		dt := c.DataType().(*arrow.TimestampType)
		return c.Value(i).ToTime(dt.Unit)
	case *array.Date32:
		return c.Value(i).ToTime()
	}
	return a.ValueStr(i)
}

// Python runs code in the sandbox with the dataset as "data" and returns its standard output.
func (t *tools) Python(ctx context.Context, code string) (string, error) {
	conn, err := t.s.rt.Peer("sandbox")
	if err != nil {
		return "", err
	}
	st, err := sandboxv1.NewSandboxServiceClient(conn).Execute(ctx, &sandboxv1.ExecuteRequest{ProjectId: t.project, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: code, Inputs: []*sandboxv1.Input{{Dataset: t.ref, Alias: "data"}}})
	if err != nil {
		return "", err
	}
	var out, errs strings.Builder
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out.String(), nil
		}
		if err != nil {
			return out.String(), err
		}
		switch e := ev.Event.(type) {
		case *sandboxv1.ExecuteResponse_Stdout:
			if out.Len() < 1<<20 {
				out.WriteString(e.Stdout)
			}
		case *sandboxv1.ExecuteResponse_Stderr:
			if errs.Len() < 4000 {
				errs.WriteString(e.Stderr)
			}
		case *sandboxv1.ExecuteResponse_Status:
			if e.Status.Outcome != sandboxv1.Outcome_OUTCOME_OK {
				return out.String(), fmt.Errorf("sandbox %s: %s %s", strings.ToLower(strings.TrimPrefix(e.Status.Outcome.String(), "OUTCOME_")), e.Status.Message, strings.TrimSpace(errs.String()))
			}
		}
	}
}

// Hypotheses profiles the dataset (cached per version) and tests hypotheses about target.
func (t *tools) Hypotheses(ctx context.Context, target string) ([]*profilingv1.Hypothesis, error) {
	conn, err := t.s.rt.Peer("profiling")
	if err != nil {
		return nil, err
	}
	c := profilingv1.NewProfilingServiceClient(conn)
	st, err := c.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: t.ref, Target: target})
	if err != nil {
		return nil, err
	}
	if err := t.s.profileDone(ctx, st.JobId, t.waitJob); err != nil {
		return nil, err
	}
	h, err := c.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: st.ProfileId, Target: target, Fdr: 0.05})
	if err != nil {
		return nil, err
	}
	return h.Hypotheses, nil
}

// Train runs AutoML and returns the best model.
func (t *tools) Train(ctx context.Context, target string, budget time.Duration) (*mlv1.Model, error) {
	conn, err := t.s.rt.Peer("ml")
	if err != nil {
		return nil, err
	}
	c := mlv1.NewMLServiceClient(conn)
	st, err := c.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: t.ref, Target: target, BudgetSeconds: budget.Seconds(), CvFolds: 5, Seed: 1})
	if err != nil {
		return nil, err
	}
	if err := t.waitOwnJob(ctx, st.JobId); err != nil {
		return nil, err
	}
	tr, err := c.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		return nil, err
	}
	m, err := c.GetModel(ctx, &mlv1.GetModelRequest{ModelId: tr.Training.BestModelId})
	if err != nil {
		return nil, err
	}
	return m.Model, nil
}

// Effect estimates an average treatment effect through the causal service.
func (t *tools) Effect(ctx context.Context, treatment, outcome string, confounders []string) (*causalv1.Estimate, error) {
	conn, err := t.s.rt.Peer("causal")
	if err != nil {
		return nil, err
	}
	c := causalv1.NewCausalServiceClient(conn)
	st, err := c.EstimateEffect(ctx, &causalv1.EstimateEffectRequest{Dataset: t.ref, Treatment: treatment, Outcome: outcome, Confounders: confounders})
	if err != nil {
		return nil, err
	}
	if err := t.waitOwnJob(ctx, st.JobId); err != nil {
		return nil, err
	}
	e, err := c.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: st.EstimateId})
	if err != nil {
		return nil, err
	}
	return e.Estimate, nil
}

// schema reads the dataset version's columns and the values of its low-cardinality columns.
func (t *tools) schema(ctx context.Context) (*planner.Schema, error) {
	conn, err := t.s.rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	ds, err := datasetsv1.NewDatasetServiceClient(conn).GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: t.ref.DatasetId, Version: t.ref.Version})
	if err != nil {
		return nil, err
	}
	v := ds.Version
	s := &planner.Schema{DatasetID: v.DatasetId, Version: v.Version, Rows: v.RowCount}
	// The dataset's name, so that answers can say which data they are about.
	if d, err := datasetsv1.NewDatasetServiceClient(conn).GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: v.DatasetId}); err == nil && d.Dataset != nil {
		s.Name = d.Dataset.Name
	}
	t.ref = &commonv1.DatasetRef{DatasetId: v.DatasetId, Version: v.Version}
	var parts []string
	for _, c := range v.Columns {
		typ := semantic.Name(c.SemanticType)
		if typ == "latitude" || typ == "longitude" {
			typ = "numeric"
		}
		pc := planner.Column{Name: c.Name, Type: typ, Missing: c.MissingCount}
		if tl, fl, ok := platform.BooleanLabels(v, c.Name); ok {
			pc.TrueLabel, pc.FalseLabel = tl, fl
		}
		s.Columns = append(s.Columns, pc)
		if typ == "categorical" || typ == "boolean" || typ == "numeric" {
			col := `"` + strings.ReplaceAll(c.Name, `"`, `""`) + `"`
			lit := "'" + strings.ReplaceAll(c.Name, "'", "''") + "'"
			parts = append(parts, fmt.Sprintf("(SELECT %s AS c, v FROM (SELECT DISTINCT CAST(%s AS VARCHAR) AS v FROM data WHERE %s IS NOT NULL ORDER BY 1 LIMIT 13))", lit, col, col))
		}
	}
	// A few values of each column, 100 columns per query (wide tables stay within the code limit);
	// at most 400 columns are looked at.
	if len(parts) > 400 {
		parts = parts[:400]
	}
	for len(parts) > 0 {
		n := min(len(parts), 100)
		tab, err := t.SQL(ctx, strings.Join(parts[:n], " UNION ALL "))
		if err != nil {
			return nil, fmt.Errorf("read column values: %w", err)
		}
		for i := range tab.Rows {
			if c := s.Col(tab.Str(i, 0)); c != nil {
				c.Values = append(c.Values, tab.Str(i, 1))
			}
		}
		parts = parts[n:]
	}
	return s, nil
}

// The ID tools of the LLM planner (planner.IDTools). Each goes through the owning service as the
// user, so a foreign or missing ID is that service's NotFound.

// Profile profiles the dataset (cached per version) and reads the profile.
func (t *tools) Profile(ctx context.Context, target string) (*profilingv1.Profile, error) {
	return t.readyProfile(ctx, target)
}

// HypothesesOf tests hypotheses about target on the profile profileID.
func (t *tools) HypothesesOf(ctx context.Context, profileID, target string) ([]*profilingv1.Hypothesis, error) {
	conn, err := t.s.rt.Peer("profiling")
	if err != nil {
		return nil, err
	}
	h, err := profilingv1.NewProfilingServiceClient(conn).GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: profileID, Target: target, Fdr: 0.05})
	if err != nil {
		return nil, err
	}
	return h.Hypotheses, nil
}

// Model reads a model by ID.
func (t *tools) Model(ctx context.Context, modelID string) (*mlv1.Model, error) {
	conn, err := t.s.rt.Peer("ml")
	if err != nil {
		return nil, err
	}
	m, err := mlv1.NewMLServiceClient(conn).GetModel(ctx, &mlv1.GetModelRequest{ModelId: modelID})
	if err != nil {
		return nil, err
	}
	return m.Model, nil
}

// Explain explains a model by ID.
func (t *tools) Explain(ctx context.Context, modelID, method string, columns []string) (*mlv1.ExplainResponse, error) {
	conn, err := t.s.rt.Peer("ml")
	if err != nil {
		return nil, err
	}
	return mlv1.NewMLServiceClient(conn).Explain(ctx, &mlv1.ExplainRequest{ModelId: modelID, Method: method, Columns: columns})
}

// ExplainChange decomposes the change of outcome between the periods of timeColumn.
func (t *tools) ExplainChange(ctx context.Context, outcome, timeColumn string, segments []string, split string) (*causalv1.ExplainChangeResponse, error) {
	conn, err := t.s.rt.Peer("causal")
	if err != nil {
		return nil, err
	}
	return causalv1.NewCausalServiceClient(conn).ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: t.ref, Outcome: outcome, TimeColumn: timeColumn, Segments: segments, Split: split})
}

// Lineage walks upstream from an artifact (every service serves the lineage records).
func (t *tools) Lineage(ctx context.Context, artifactID string) (*lineagev1.GetLineageResponse, error) {
	conn, err := t.s.rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	return lineagev1.NewLineageServiceClient(conn).GetLineage(ctx, &lineagev1.GetLineageRequest{ArtifactId: artifactID})
}
