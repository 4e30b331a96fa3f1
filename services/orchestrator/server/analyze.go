package server

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/semantic"
)

// step is one call of the analysis plan.
type step struct {
	name string
	frac float64 // share of the progress bar
	run  func(ctx context.Context) error
}

// analyze runs the main job's plan: profile the dataset, test hypotheses about the target, train and
// rank models, explain the best one, and assemble the report. Each step is a real call by dataset ID.
func (s *Server) analyze(ctx context.Context, t *jobs.Task) error {
	task := &jobsv1.AnalyzeTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	r, err := s.rt.Store.GetResource(ctx, KindAnalysis, task.AnalysisId)
	if err != nil {
		return jobs.Permanent(err)
	}
	rep := &orchestratorv1.AnalysisReport{}
	if err := protoUnmarshal(r.Data, rep); err != nil {
		return jobs.Permanent(err)
	}
	uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
	if err != nil {
		return err
	}
	conns := map[string]*grpc.ClientConn{}
	for _, name := range []string{"ingestion", "profiling", "ml"} {
		if conns[name], err = s.rt.Peer(name); err != nil {
			return err
		}
	}
	ref := &commonv1.DatasetRef{DatasetId: rep.Dataset.Id, Version: rep.Dataset.Version}
	budget := s.defaultBudget
	if task.BudgetSeconds > 0 {
		budget = time.Duration(task.BudgetSeconds * float64(time.Second))
	}
	a := &analysis{s: s, ctx: uctx, rep: rep, ref: ref, conns: conns, budget: budget}
	plan := []step{
		{"read dataset schema", 0.03, a.describe},
		{"profile columns", 0.15, a.runProfile},
		{"train and rank models", 0.55, a.train},
		{"test hypotheses about " + rep.Target, 0.17, a.hypotheses},
		{"summarise findings", 0.05, a.summarise},
	}
	var names []string
	for _, st := range plan {
		names = append(names, st.name)
	}
	done := 0.0
	if err := t.Progress(ctx, 0.01, "plan", strings.Join(names, " → ")); err != nil {
		return err
	}
	for _, st := range plan {
		// A cancel of the analysis job is seen at its next progress report (a peer job's event, while
		// the step waits for it), which cancels ctx (jobs.Task) and so the step; a job the step
		// started for this analysis alone (its training) is cancelled with it (waitOwnJob).
		a.progress = func(frac float64, msg string) { _ = t.Progress(ctx, done+st.frac*frac, st.name, msg) }
		if err := t.Progress(ctx, done, st.name, ""); err != nil {
			return err
		}
		err := st.run(uctx)
		if t.Cancelled() {
			rep.Error = fmt.Sprintf("the analysis was cancelled (job %s) during %q", t.Job.GetId(), st.name)
			_ = s.save(context.WithoutCancel(ctx), rep, "cancelled")
			return jobs.ErrCancelled
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			rep.Error = fmt.Sprintf("%s: %v", st.name, err)
			_ = s.save(context.WithoutCancel(ctx), rep, "failed")
			return jobs.Permanent(fmt.Errorf("%s: %w", st.name, err))
		}
		done += st.frac
	}
	if err := s.save(ctx, rep, "succeeded"); err != nil {
		return err
	}
	inputs := []string{fmt.Sprintf("%s.v%d", ref.DatasetId, ref.Version), rep.ProfileId, rep.Model.GetId()}
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: rep.Id, Kind: "analysis", ProjectId: rep.ProjectId, Label: "analysis of " + rep.Target},
		inputs, "analyze", map[string]string{"target": rep.Target, "question": rep.Question})
	for _, c := range rep.Charts {
		_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: c.Id, Kind: "chart", ProjectId: rep.ProjectId, Label: c.Title}, []string{rep.Id}, "chart", nil)
	}
	for _, f := range rep.Findings {
		_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: f.Id, Kind: "finding", ProjectId: rep.ProjectId, Label: f.Statement}, []string{rep.Id}, "finding", map[string]string{"query": f.Query})
	}
	return t.SetResult(ctx, rep.Id)
}

type analysis struct {
	s        *Server
	ctx      context.Context
	rep      *orchestratorv1.AnalysisReport
	ref      *commonv1.DatasetRef
	conns    map[string]*grpc.ClientConn
	budget   time.Duration
	progress func(float64, string)
	version  *datasetsv1.DatasetVersion
	profile  *profilingv1.Profile
	training *mlv1.Training
	model    *mlv1.Model
}

// waitJob follows a peer's job to its end through the shared job stream.
func (a *analysis) waitJob(ctx context.Context, jobID string) error {
	err := a.s.rt.Queue.Watch(ctx, jobID, func(ev *jobsv1.JobEvent) error {
		if a.progress != nil && ev.State == jobsv1.JobState_JOB_STATE_RUNNING {
			a.progress(ev.Progress, ev.Message)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.jobOutcome(ctx, jobID)
}

// waitOwnJob is waitJob for a job started for this analysis alone: when the analysis stops
// waiting (cancelled, or shut down), the job is cancelled too rather than left to spend its budget.
func (a *analysis) waitOwnJob(ctx context.Context, jobID string) error {
	err := a.waitJob(ctx, jobID)
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, cerr := a.s.rt.Queue.Cancel(cctx, jobID); cerr != nil {
			a.s.rt.Log.WarnContext(cctx, "could not cancel the training of a stopped analysis", "job", jobID, "err", cerr)
		}
	}
	return err
}

// jobOutcome is nil when the job succeeded, else an error naming its state and reason.
func (a *analysis) jobOutcome(ctx context.Context, jobID string) error {
	j, err := a.s.rt.Queue.Get(ctx, jobID)
	if err != nil {
		return err
	}
	if j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		return fmt.Errorf("%s job %s %s: %s", j.Kind, j.Id, strings.ToLower(strings.TrimPrefix(j.State.String(), "JOB_STATE_")), j.Error)
	}
	return nil
}

func (a *analysis) describe(ctx context.Context) error {
	c := datasetsv1.NewDatasetServiceClient(a.conns["ingestion"])
	v, err := c.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: a.ref.DatasetId, Version: a.ref.Version})
	if err != nil {
		return err
	}
	a.version = v.Version
	d := a.rep.Dataset
	d.RowCount, d.ColumnCount = v.Version.RowCount, int32(len(v.Version.Columns))
	for _, col := range v.Version.Columns {
		d.Columns = append(d.Columns, &orchestratorv1.ReportColumn{Name: col.Name, Type: reportType(col.SemanticType), MissingCount: col.MissingCount})
	}
	a.rep.Warnings = append(a.rep.Warnings, v.Version.Warnings...)
	if rr := v.Version.ReadRules; rr != nil {
		for _, co := range rr.Coercions {
			if co.CellsChanged > 0 {
				a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("%s: %d cells changed by %s%s", co.Column, co.CellsChanged, strings.ReplaceAll(co.Rule, "_", " "), detail(co.Detail)))
			}
		}
	}
	return nil
}

func detail(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// reportType maps semantic types to the report's seven type names.
func reportType(t commonv1.SemanticType) string {
	switch t {
	case commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE, commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE:
		return "numeric"
	case commonv1.SemanticType_SEMANTIC_TYPE_UNSPECIFIED:
		return "text"
	}
	return semantic.Name(t)
}

func (a *analysis) runProfile(ctx context.Context) error {
	c := profilingv1.NewProfilingServiceClient(a.conns["profiling"])
	st, err := c.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: a.ref, Target: a.rep.Target})
	if err != nil {
		return err
	}
	if err := a.s.profileDone(ctx, st.JobId, a.waitJob); err != nil {
		return err
	}
	p, err := c.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: st.ProfileId})
	if err != nil {
		return err
	}
	a.profile, a.rep.ProfileId = p.Profile, st.ProfileId
	for _, al := range p.Profile.Alerts {
		if al.Severity >= commonv1.Severity_SEVERITY_WARNING {
			a.rep.Warnings = append(a.rep.Warnings, "data quality: "+al.Message)
		}
	}
	// The target's distribution chart.
	for _, col := range p.Profile.Columns {
		if col.Name == a.rep.Target && col.ChartId != "" {
			for _, ch := range p.Profile.Charts {
				if ch.Id == col.ChartId {
					a.rep.Charts = append(a.rep.Charts, ch)
				}
			}
		}
	}
	return nil
}

func (a *analysis) train(ctx context.Context) error {
	c := mlv1.NewMLServiceClient(a.conns["ml"])
	st, err := c.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: a.ref, Target: a.rep.Target, BudgetSeconds: a.budget.Seconds(), CvFolds: 5, Seed: 1})
	if err != nil {
		return err
	}
	a.rep.TrainingId = st.TrainingId
	if err := a.waitOwnJob(ctx, st.JobId); err != nil {
		return err
	}
	tr, err := c.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		return err
	}
	a.training = tr.Training
	m, err := c.GetModel(ctx, &mlv1.GetModelRequest{ModelId: tr.Training.BestModelId})
	if err != nil {
		return err
	}
	a.model = m.Model
	a.rep.PositiveClass = platform.BooleanClassLabel(a.version, a.rep.Target, m.Model.PositiveClass) // "Yes" as the file spells it, not "true"
	a.rep.Model = &orchestratorv1.ReportModel{Id: m.Model.Id, Algorithm: m.Model.Algorithm, Metric: m.Model.Metric, CvScore: m.Model.CvScore,
		CvStd: m.Model.CvStd, CvFolds: m.Model.CvFolds, Task: strings.ToLower(strings.TrimPrefix(m.Model.Task.String(), "TASK_"))}
	for _, e := range tr.Training.Leaderboard {
		a.rep.Leaderboard = append(a.rep.Leaderboard, &orchestratorv1.LeaderboardRow{Algorithm: e.Algorithm, Config: e.Config, CvScore: e.CvScore, CvStd: e.CvStd})
	}
	a.rep.Warnings = append(a.rep.Warnings, tr.Training.Warnings...)
	imps := append([]*mlv1.FeatureImportance(nil), m.Model.Importances...)
	sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
	var names []string
	var vals []float64
	for _, imp := range imps {
		a.rep.Drivers = append(a.rep.Drivers, &orchestratorv1.Driver{Feature: imp.Feature, Importance: imp.Importance, Std: imp.Std})
		if len(names) < 20 {
			names, vals = append(names, imp.Feature), append(vals, imp.Importance)
		}
	}
	if len(names) > 0 {
		title := fmt.Sprintf("What drives %s: drop in %s when each column is shuffled", a.rep.Target, m.Model.Metric)
		if st, err := charts.ToStruct(charts.Importance(title, names, vals)); err == nil {
			a.rep.Charts = append(a.rep.Charts, &commonv1.Chart{Id: ids.New(ids.Chart), Title: "Drivers of " + a.rep.Target, Kind: "importance", VegaLite: st, Source: "model " + m.Model.Id})
		}
	}
	return nil
}

func (a *analysis) hypotheses(ctx context.Context) error {
	c := profilingv1.NewProfilingServiceClient(a.conns["profiling"])
	h, err := c.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: a.rep.ProfileId, Target: a.rep.Target, Fdr: 0.05})
	if err != nil {
		return err
	}
	// Findings about the target first, strongest effects first; at most 12.
	type scored struct {
		h   *profilingv1.Hypothesis
		tgt bool
	}
	var keep []scored
	for _, hy := range h.Hypotheses {
		if !hy.Survived {
			continue
		}
		tgt := false
		for _, col := range hy.Columns {
			if col == a.rep.Target {
				tgt = true
			}
		}
		keep = append(keep, scored{hy, tgt})
	}
	sort.SliceStable(keep, func(i, j int) bool {
		if keep[i].tgt != keep[j].tgt {
			return keep[i].tgt
		}
		return math.Abs(keep[i].h.EffectSize) > math.Abs(keep[j].h.EffectSize)
	})
	charted := 0
	for _, k := range keep {
		if len(a.rep.Findings) >= 12 {
			break
		}
		hy := k.h
		f := &commonv1.Finding{Id: ids.New(ids.Finding), Statement: hy.Statement, Test: hy.Test, Columns: hy.Columns, Query: hy.Query,
			Values: map[string]float64{"statistic": hy.Statistic, "p_value": hy.PValue, "q_value": hy.QValue, "effect_size": hy.EffectSize,
				"n": float64(hy.N)}}
		if hy.HasCi { // tests without an interval (Kruskal-Wallis, trends) report none, not 0 to 0
			f.Values["ci_low"], f.Values["ci_high"] = hy.CiLow, hy.CiHigh
		}
		if hy.EffectSizeName != "" {
			f.Values[hy.EffectSizeName] = hy.EffectSize
		}
		if hy.Chart != nil && charted < 3 && k.tgt {
			f.ChartId = hy.Chart.Id
			a.rep.Charts = append(a.rep.Charts, hy.Chart)
			charted++
		}
		a.rep.Findings = append(a.rep.Findings, f)
	}
	a.rep.Findings = append(a.rep.Findings, fdrFinding(len(h.Hypotheses), len(keep)))
	return nil
}

// fdrFinding is the report's finding on multiple testing: passed of tested hypotheses passed the
// Benjamini-Hochberg correction at a 5% false-discovery rate. It does not say "survived", which
// reads as the target's name in a report on titanic's survived.
func fdrFinding(tested, passed int) *commonv1.Finding {
	return &commonv1.Finding{Id: ids.New(ids.Finding), Test: "benjamini_hochberg",
		Statement: fmt.Sprintf("%d of %d hypotheses passed the multiple-testing correction (Benjamini-Hochberg, false-discovery rate 5%%).", passed, tested),
		Values:    map[string]float64{"tested": float64(tested), "passed": float64(passed), "fdr": 0.05}}
}

func (a *analysis) summarise(ctx context.Context) error {
	m := a.rep.Model
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %s and %s. ", a.rep.Dataset.Name, plural.Count(a.rep.Dataset.RowCount, "row"), plural.Count(a.rep.Dataset.ColumnCount, "column"))
	switch m.Task {
	case "binary":
		fmt.Fprintf(&b, "Predicting %s = %s, the best model (%s) reaches a %d-fold cross-validated ROC AUC of %.3f (± %.3f). ", a.rep.Target, a.rep.PositiveClass, m.Algorithm, m.CvFolds, m.CvScore, m.CvStd)
	case "multiclass":
		fmt.Fprintf(&b, "Predicting %s, the best model (%s) reaches a %d-fold cross-validated log loss of %.3f (± %.3f). ", a.rep.Target, m.Algorithm, m.CvFolds, m.CvScore, m.CvStd)
	default:
		fmt.Fprintf(&b, "Predicting %s, the best model (%s) reaches a %d-fold cross-validated RMSE of %.4g (± %.3g). ", a.rep.Target, m.Algorithm, m.CvFolds, m.CvScore, m.CvStd)
	}
	base, baseName, haveBase := a.baseline()
	useless := haveBase && !beatsBaseline(m.Metric, m.CvScore, m.CvStd, int(m.CvFolds), base)
	var top []string
	for _, d := range a.rep.Drivers {
		if d.Importance > 0 && len(top) < 3 {
			top = append(top, d.Feature)
		}
	}
	switch {
	case useless:
		msg := fmt.Sprintf("The best model is no better than %s (%s %.4g vs %.4g): the columns carry no usable signal about %s, so its drivers mean nothing.",
			baseName, m.Metric, m.CvScore, base, a.rep.Target)
		b.WriteString(msg + " ")
		a.rep.Warnings = append(a.rep.Warnings, "model: "+msg)
	case m.Metric == "roc_auc" && m.CvScore < weakAUC:
		// Better than chance by more than the noise, but not by much: a finding, with its caveat.
		msg := fmt.Sprintf("The signal is weak: a ROC AUC under %.1f separates the classes only slightly better than chance, so read the drivers with caution", weakAUC)
		if len(top) > 0 {
			msg += " (" + drivers(top) + ")"
		}
		b.WriteString(msg + ". ")
		a.rep.Warnings = append(a.rep.Warnings, "model: "+msg+".")
	case len(top) > 0:
		b.WriteString(strings.ToUpper(drivers(top)[:1]) + drivers(top)[1:] + ". ")
	}
	statement := b.String()
	cv := map[string]float64{"cv_score": m.CvScore, "cv_std": m.CvStd, "folds": float64(m.CvFolds), "rows": float64(a.rep.Dataset.RowCount)}
	if haveBase {
		cv["baseline"] = base
	}
	a.rep.Findings = append([]*commonv1.Finding{{Id: ids.New(ids.Finding), Statement: strings.TrimSpace(statement), Test: "cross_validation",
		Values: cv}}, a.rep.Findings...)
	if len(a.rep.Warnings) > 0 {
		fmt.Fprintf(&b, "%d warning(s) about the data and the columns left out are listed below.", len(a.rep.Warnings))
	}
	a.rep.Summary = strings.TrimSpace(b.String())
	return nil
}

// baseline is the score of the model that ignores every column: ROC AUC 0.5 for a binary target, the
// log loss of predicting the class frequencies for a multiclass one, the standard deviation (the RMSE
// of predicting the mean) for a numeric one. It comes from the target's profile.
func (a *analysis) baseline() (score float64, name string, ok bool) {
	switch a.rep.Model.GetMetric() {
	case "roc_auc":
		return 0.5, "chance", true
	}
	if a.profile == nil {
		return 0, "", false
	}
	for _, c := range a.profile.Columns {
		if c.Name != a.rep.Target {
			continue
		}
		switch a.rep.Model.GetMetric() {
		case "rmse":
			if c.Numeric != nil && c.Numeric.Std > 0 {
				return c.Numeric.Std, "predicting the mean", true
			}
		case "log_loss":
			counts := map[string]float64{}
			var n float64
			for _, v := range c.TopValues {
				counts[v.Value] += float64(v.Count)
				n += float64(v.Count)
			}
			if n == 0 || n < float64(c.Count) { // the profile's top values do not cover every class
				var err error
				if counts, err = a.targetCounts(); err != nil {
					return 0, "", false
				}
			}
			return entropy(counts), "predicting the class frequencies", true
		}
	}
	return 0, "", false
}

// weakAUC is the ROC AUC under which a binary model that beats chance is still called weak.
const weakAUC = 0.6

// drivers names the strongest drivers: "the strongest driver is x" or "the strongest drivers are x, y".
func drivers(top []string) string {
	if len(top) == 1 {
		return "the strongest driver is " + top[0]
	}
	return "the strongest drivers are " + strings.Join(top, ", ")
}

// beatsBaseline reports whether a cross-validated score is better than the baseline by more than
// its noise: twice the standard error of the mean over the folds (std/sqrt(folds)), and at least 1%
// of the baseline (0.01 AUC). The fold scores' own spread (std) is not that noise: it is how much the
// folds differ from one another (a fold with outliers has a larger RMSE for the model and for the
// mean alike), and taking 2*std as the margin called tips' tip model (RMSE 1.047 against the mean's
// 1.384, fold std about 0.17) no better than the mean.
func beatsBaseline(metric string, cv, std float64, folds int, base float64) bool {
	se := std / math.Sqrt(float64(max(folds, 1)))
	if metric == "roc_auc" {
		return cv-base > math.Max(2*se, 0.01)
	}
	return base-cv > math.Max(2*se, 0.01*math.Abs(base))
}

// targetCounts counts the target's values, read over Flight (only that column).
func (a *analysis) targetCounts() (map[string]float64, error) {
	rdr, err := client.DoGet(a.ctx, flight.NewFlightServiceClient(a.conns["ingestion"]),
		&datasetsv1.DatasetQuery{DatasetId: a.ref.DatasetId, Version: a.ref.Version, Columns: []string{a.rep.Target}})
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	counts := map[string]float64{}
	for rdr.Next() {
		col := rdr.RecordBatch().Column(0)
		for i := 0; i < col.Len(); i++ {
			if col.IsValid(i) {
				counts[strings.Clone(col.ValueStr(i))]++
			}
		}
	}
	return counts, rdr.Err()
}

// entropy is the log loss of predicting the observed class frequencies.
func entropy(counts map[string]float64) float64 {
	var n, h float64
	for _, c := range counts {
		n += c
	}
	for _, c := range counts {
		if p := c / n; p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}
