// Package server implements the ML service: AutoML training jobs over dataset versions read through
// Arrow Flight, the model registry (data-only protobuf artifacts with a SHA-256 digest checked
// before every load), predictions and explanations.
package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource and job kinds.
const (
	KindTraining = "training"
	KindModel    = "model"
	JobTrain     = "train"
)

// Config bounds training.
type Config struct {
	Workers       int
	DefaultBudget time.Duration
	MaxBudget     time.Duration
	// SigningKeyHex is the Ed25519 seed (hex) that signs models; empty reads or creates home/model-signing.key.
	SigningKeyHex string
	// TrustedKeysHex lists further Ed25519 public keys (hex, comma-separated) whose models still load.
	TrustedKeysHex string
	// PricePerCPUSecond turns a money budget into CPU seconds and reports what a training cost.
	PricePerCPUSecond float64
	// Trials configures distributed trials (trials.go).
	Trials TrialConfig
}

// Server is the ML service.
type Server struct {
	mlv1.UnimplementedMLServiceServer
	rt     *platform.Runtime
	cfg    Config
	keys   *learn.Keyring
	trials *trialState // nil unless --distributed-trials
}

// Service is the ML deployable.
func Service() platform.Service {
	cfg := Config{Workers: 1, DefaultBudget: 30 * time.Second, MaxBudget: time.Hour, Trials: defaultTrialConfig()}
	return platform.Service{
		Name:  "ml",
		Peers: []string{"auth", "ingestion"},
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&cfg.Workers, "train-workers", cfg.Workers, "training jobs run at once across all ml replicas (and batch-prediction jobs); 0: this replica takes neither, as a dedicated trial worker")
			fs.DurationVar(&cfg.DefaultBudget, "train-budget", cfg.DefaultBudget, "default wall-time budget of a training")
			fs.DurationVar(&cfg.MaxBudget, "max-train-budget", cfg.MaxBudget, "largest budget a caller may ask for")
			fs.StringVar(&cfg.SigningKeyHex, "model-signing-key", "", "Ed25519 seed (64 hex digits) that signs registered models (default: home/model-signing.key, created on first use)")
			fs.StringVar(&cfg.TrustedKeysHex, "model-trusted-keys", "", "comma-separated Ed25519 public keys (hex) of earlier signing keys whose models still load")
			fs.Float64Var(&cfg.PricePerCPUSecond, "price-per-cpu-second", 0, "price of one CPU-second, for money budgets and reported training cost (0: money budgets refused)")
			cfg.Trials.flags(fs)
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			keys, err := loadKeyring(rt.Home, cfg)
			if err != nil {
				return nil, err
			}
			s := &Server{rt: rt, cfg: cfg, keys: keys}
			mlv1.RegisterMLServiceServer(srv, s)
			if err := s.startTrials(ctx); err != nil {
				return nil, err
			}
			return s.run, nil
		},
	}
}

func (s *Server) StartTraining(ctx context.Context, req *mlv1.StartTrainingRequest) (*mlv1.StartTrainingResponse, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id); err != nil {
		return nil, err
	}
	// A target with no values is refused here, before the training job starts.
	if err := platform.RequireTarget("target", ver, req.Target); err != nil {
		return nil, err
	}
	for _, c := range req.ExcludeColumns {
		if err := platform.RequireColumn("exclude_columns", ver.Columns, c); err != nil {
			return nil, err
		}
	}
	if b := req.BudgetSeconds; math.IsNaN(b) || b < 0 || b > s.cfg.MaxBudget.Seconds() { // +Inf and 1e20 too (no Duration overflow)
		return nil, grpcx.InvalidArgument("budget_seconds", fmt.Sprintf("must be between 0 and %.0f seconds", s.cfg.MaxBudget.Seconds()))
	}
	if req.BudgetMoney < 0 || math.IsNaN(req.BudgetMoney) || math.IsInf(req.BudgetMoney, 0) {
		return nil, grpcx.InvalidArgument("budget_money", "must be a finite amount, not negative")
	}
	if req.BudgetMoney > 0 {
		if s.cfg.PricePerCPUSecond <= 0 {
			return nil, grpcx.FailedPrecondition("this ML service has no price per CPU-second configured (%s), so it cannot take a money budget; give budget_seconds instead", config.Setting("price-per-cpu-second"))
		}
		if cpu := req.BudgetMoney / s.cfg.PricePerCPUSecond; cpu > 2*s.cfg.MaxBudget.Seconds() {
			return nil, grpcx.InvalidArgument("budget_money", fmt.Sprintf("%.4g buys %.0f CPU-seconds at %.4g per CPU-second; at most %.0f are allowed", req.BudgetMoney, cpu, s.cfg.PricePerCPUSecond, 2*s.cfg.MaxBudget.Seconds()))
		}
	}
	if req.CvFolds != 0 && (req.CvFolds < 2 || req.CvFolds > 20) {
		return nil, grpcx.InvalidArgument("cv_folds", "must be between 2 and 20")
	}
	if req.CvGroupColumn != "" && req.CvTimeColumn != "" {
		return nil, grpcx.InvalidArgument("cv_time_column", fmt.Sprintf("choose grouped (cv_group_column %q) or time-ordered (cv_time_column %q) cross-validation, not both", req.CvGroupColumn, req.CvTimeColumn))
	}
	if slices.Contains(req.ExcludeColumns, req.Target) {
		return nil, grpcx.InvalidArgument("exclude_columns", fmt.Sprintf("names the target %q: the target is never a feature; leave it out of exclude_columns", req.Target))
	}
	for _, a := range req.Algorithms {
		if !slices.Contains(learn.Algorithms(), a) {
			return nil, grpcx.InvalidArgument("algorithms", fmt.Sprintf("unknown algorithm %q (use %s)", a, strings.Join(learn.Algorithms(), ", ")))
		}
	}
	who, _ := grpcx.RequireIdentity(ctx)
	req.Dataset = &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}
	tr := &mlv1.Training{Id: ids.New(ids.Training), ProjectId: ds.ProjectId, Dataset: req.Dataset, Target: req.Target, Task: req.Task,
		State: mlv1.TrainingState_TRAINING_STATE_QUEUED, JobId: ids.New(ids.Job), CreateTime: timestamppb.Now()}
	if err := s.saveTraining(ctx, tr, req, true); err != nil {
		return nil, grpcx.Internal(ctx, err, "start training")
	}
	task := &jobsv1.TrainTask{TrainingId: tr.Id, UserId: who.UserID, ProjectId: ds.ProjectId}
	if _, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{Id: tr.JobId, ProjectId: ds.ProjectId, Kind: JobTrain, ResultId: tr.Id}, task); err != nil {
		return nil, grpcx.Internal(ctx, err, "queue training")
	}
	return &mlv1.StartTrainingResponse{TrainingId: tr.Id, JobId: tr.JobId}, nil
}

// KindTrainingRequest keeps the request of a training (what the worker must do) beside its record.
const KindTrainingRequest = "training_request"

// saveTraining creates (with its request) or updates a training record.
func (s *Server) saveTraining(ctx context.Context, tr *mlv1.Training, req *mlv1.StartTrainingRequest, create bool) error {
	b, err := proto.Marshal(tr)
	if err != nil {
		return err
	}
	if create {
		rb, err := proto.Marshal(req)
		if err != nil {
			return err
		}
		if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindTrainingRequest, ID: tr.Id, ProjectID: tr.ProjectId, Data: rb}); err != nil {
			return err
		}
		return s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindTraining, ID: tr.Id, ProjectID: tr.ProjectId, ParentID: tr.Dataset.DatasetId, State: tr.State.String(), Data: b})
	}
	_, err = s.rt.Store.UpdateResource(ctx, KindTraining, tr.Id, func(r storage.Resource) (storage.Resource, error) {
		r.Data, r.State = b, tr.State.String()
		return r, nil
	})
	return err
}

func (s *Server) loadTraining(ctx context.Context, id string, role int) (*mlv1.Training, *mlv1.StartTrainingRequest, error) {
	if err := ids.Check(id, ids.Training); err != nil {
		return nil, nil, grpcx.InvalidArgument("training_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindTraining, id)
	if err != nil {
		return nil, nil, grpcx.FromStorage(ctx, err, "training", id)
	}
	if role > 0 {
		if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, role, "training", id); err != nil {
			return nil, nil, err
		}
	}
	tr, req := &mlv1.Training{}, &mlv1.StartTrainingRequest{}
	if err := proto.Unmarshal(r.Data, tr); err != nil {
		return nil, nil, grpcx.Internal(ctx, err, "read training")
	}
	rr, err := s.rt.Store.GetResource(ctx, KindTrainingRequest, id)
	if err != nil {
		return nil, nil, grpcx.FromStorage(ctx, err, "training", id)
	}
	return tr, req, proto.Unmarshal(rr.Data, req)
}

// train runs a training job. A job cancelled at any progress report (before the data is read, or
// during the search) records the training as ended by the cancel.
func (s *Server) train(ctx context.Context, t *jobs.Task) error {
	task := &jobsv1.TrainTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	tr, req, err := s.loadTraining(ctx, task.TrainingId, 0)
	if err != nil {
		return jobs.Permanent(err)
	}
	err = s.trainJob(ctx, t, task, tr, req)
	if errors.Is(err, jobs.ErrCancelled) {
		tr.State, tr.Error = mlv1.TrainingState_TRAINING_STATE_CANCELLED, cancelledTraining(t.Job.GetId())
		_ = s.saveTraining(context.WithoutCancel(ctx), tr, nil, false)
	}
	return err
}

// cancelledTraining is the error of a training whose job was cancelled.
func cancelledTraining(jobID string) string {
	return fmt.Sprintf("the training was cancelled (job %s)", jobID)
}

func (s *Server) trainJob(ctx context.Context, t *jobs.Task, task *jobsv1.TrainTask, tr *mlv1.Training, req *mlv1.StartTrainingRequest) error {
	fail := func(err error) error {
		tr.State, tr.Error = mlv1.TrainingState_TRAINING_STATE_FAILED, err.Error()
		_ = s.saveTraining(context.WithoutCancel(ctx), tr, nil, false)
		return jobs.Permanent(err)
	}
	uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
	if err != nil {
		return err
	}
	tr.State = mlv1.TrainingState_TRAINING_STATE_RUNNING
	_ = s.saveTraining(ctx, tr, nil, false)
	if err := t.Progress(ctx, 0.02, "reading data", ""); err != nil {
		return err
	}
	f, err := s.rt.ReadFrame(uctx, req.Dataset.DatasetId, req.Dataset.Version, nil)
	if err != nil {
		return err
	}
	opts, budgetText := s.trainOptions(uctx, req)
	// A cancel of the job is seen at the next progress report, which cancels ctx (jobs.Task): the
	// search stops then (between trials, or a forest's trees) instead of spending its budget.
	opts.Progress = func(frac float64, msg string) { _ = t.Progress(ctx, 0.05+0.85*frac, "training", msg) }
	res, err := s.search(ctx, t, task, f, opts)
	if t.Cancelled() {
		return jobs.ErrCancelled
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fail(err)
	}
	if err := t.Progress(ctx, 0.92, "registering model", ""); err != nil {
		return err
	}
	m, err := s.register(ctx, tr, res)
	if err != nil {
		return err
	}
	tr.State, tr.BestModelId, tr.Metric, tr.PositiveClass = mlv1.TrainingState_TRAINING_STATE_SUCCEEDED, m.Id, res.Metric, res.PositiveClass
	tr.Task, tr.Warnings = m.Task, res.Warnings
	tr.Spend = &mlv1.Spend{WallSeconds: res.Spend.Wall.Seconds(), CpuSeconds: res.Spend.CPU.Seconds(), PricePerCpuSecond: s.cfg.PricePerCPUSecond,
		Cost: res.Spend.CPU.Seconds() * s.cfg.PricePerCPUSecond, Budget: budgetText, Trials: int32(res.Spend.Trials)}
	tr.Leaderboard, tr.DroppedColumns = nil, nil
	for _, d := range res.Dropped {
		tr.DroppedColumns = append(tr.DroppedColumns, d.Column)
	}
	for i, e := range res.Leaderboard {
		entry := &mlv1.LeaderboardEntry{Rank: int32(i + 1), Algorithm: e.Algorithm, Config: e.Config, Metric: e.Metric, CvScore: e.CVScore, CvStd: e.CVStd, FoldScores: e.FoldScores, FitSeconds: e.FitSeconds}
		if i == 0 {
			entry.ModelId = m.Id
		}
		tr.Leaderboard = append(tr.Leaderboard, entry)
	}
	if err := s.saveTraining(ctx, tr, nil, false); err != nil {
		return err
	}
	return t.SetResult(ctx, tr.Id)
}

func modelKey(id string) string { return "models/" + id + ".pb" }

// register stores the best model's data-only artifact and its record (with the digest).
func (s *Server) register(ctx context.Context, tr *mlv1.Training, res *learn.Result) (*mlv1.Model, error) {
	id := ids.New(ids.Model)
	b, env, err := s.keys.Seal(id, res.Best)
	if err != nil {
		return nil, err
	}
	m := &mlv1.Model{Id: id, ProjectId: tr.ProjectId, TrainingId: tr.Id, Dataset: tr.Dataset, Target: res.Target,
		Task: res.Best.Proto().Task, Algorithm: res.Best.Algorithm(), Config: res.Best.Config(), Metric: res.Metric,
		CvFolds: int32(res.Folds), Features: res.Features, Classes: res.Classes, PositiveClass: res.PositiveClass,
		Digest: env.Digest, Signature: env.Signature, SigningKeyId: env.KeyId, CreateTime: timestamppb.Now()}
	if len(res.Leaderboard) > 0 {
		m.CvScore, m.CvStd = res.Leaderboard[0].CVScore, res.Leaderboard[0].CVStd
	}
	for _, imp := range res.Importances {
		m.Importances = append(m.Importances, &mlv1.FeatureImportance{Feature: imp.Feature, Importance: imp.Importance, Std: imp.Std})
	}
	if _, err := s.rt.Blobs.Put(ctx, modelKey(m.Id), bytes.NewReader(b), 0); err != nil {
		return nil, err
	}
	mb, _ := proto.Marshal(m)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindModel, ID: m.Id, ProjectID: m.ProjectId, ParentID: tr.Id, State: "ready", Data: mb}); err != nil {
		return nil, err
	}
	vid := fmt.Sprintf("%s.v%d", tr.Dataset.DatasetId, tr.Dataset.Version)
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: m.Id, Kind: "model", ProjectId: m.ProjectId,
		Label: fmt.Sprintf("%s predicting %s (%s %.4f)", m.Algorithm, m.Target, m.Metric, m.CvScore)}, []string{vid}, "train",
		map[string]string{"target": m.Target, "training": tr.Id, "config": m.Config})
	return m, nil
}

func (s *Server) GetTraining(ctx context.Context, req *mlv1.GetTrainingRequest) (*mlv1.GetTrainingResponse, error) {
	tr, _, err := s.loadTraining(ctx, req.TrainingId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	// A training whose job was cancelled before a worker took it is never touched again: its
	// record still says queued. Say how it ended.
	if tr.State == mlv1.TrainingState_TRAINING_STATE_QUEUED && tr.JobId != "" && s.rt.Queue != nil {
		if j, err := s.rt.Queue.Get(ctx, tr.JobId); err == nil && j.State == jobsv1.JobState_JOB_STATE_CANCELLED {
			tr.State, tr.Error = mlv1.TrainingState_TRAINING_STATE_CANCELLED, cancelledTraining(tr.JobId)
		}
	}
	return &mlv1.GetTrainingResponse{Training: tr}, nil
}

func (s *Server) Leaderboard(ctx context.Context, req *mlv1.LeaderboardRequest) (*mlv1.LeaderboardResponse, error) {
	tr, _, err := s.loadTraining(ctx, req.TrainingId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	return &mlv1.LeaderboardResponse{Entries: tr.Leaderboard}, nil
}

func (s *Server) modelRecord(ctx context.Context, id string, role int) (*mlv1.Model, error) {
	if err := ids.Check(id, ids.Model); err != nil {
		return nil, grpcx.InvalidArgument("model_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindModel, id)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "model", id)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, role, "model", id); err != nil {
		return nil, err
	}
	m := &mlv1.Model{}
	return m, proto.Unmarshal(r.Data, m)
}

func (s *Server) GetModel(ctx context.Context, req *mlv1.GetModelRequest) (*mlv1.GetModelResponse, error) {
	m, err := s.modelRecord(ctx, req.ModelId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	return &mlv1.GetModelResponse{Model: m}, nil
}

func (s *Server) ListModels(ctx context.Context, req *mlv1.ListModelsRequest) (*mlv1.ListModelsResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleViewer, "project", req.ProjectId); err != nil {
		return nil, err
	}
	rs, err := s.rt.Store.ListResources(ctx, storage.ListQuery{Kind: KindModel, ProjectID: req.ProjectId, Limit: 200})
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list models")
	}
	out := &mlv1.ListModelsResponse{}
	for _, r := range rs {
		m := &mlv1.Model{}
		if proto.Unmarshal(r.Data, m) == nil {
			out.Models = append(out.Models, m)
		}
	}
	return out, nil
}

// loadModel reads a stored artifact and refuses it, before parsing any of it, unless its SHA-256
// matches the registry record and its Ed25519 signature verifies with a trusted key.
func (s *Server) loadModel(ctx context.Context, m *mlv1.Model) (*learn.Model, error) {
	rc, err := s.rt.Blobs.Open(ctx, modelKey(m.Id))
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "load model")
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "load model")
	}
	lm, err := s.keys.OpenSigned(m.Id, m.Digest, b)
	if err != nil {
		s.rt.Log.Warn("model artifact refused", "model", m.Id, "reason", err.Error())
		return nil, grpcx.FailedPrecondition("model %s was refused: %v; retrain it or restore the original artifact", m.Id, err)
	}
	return lm, nil
}

// rowsFrame turns prediction rows (text values) into a frame with the model's input columns and
// the warnings about unseen categories; a value the model cannot score is InvalidArgument.
func rowsFrame(lm *learn.Model, rows []*mlv1.Row) (*frame.Frame, []string, error) {
	vals := make([]map[string]string, len(rows))
	for i, r := range rows {
		vals[i] = r.Values
	}
	f, warns, err := lm.RowsFrame(vals)
	var rve *learn.RowValueError
	if errors.As(err, &rve) {
		return nil, nil, grpcx.InvalidArgument(rve.Field(), rve.Reason)
	}
	return f, warns, err
}

func (s *Server) Predict(ctx context.Context, req *mlv1.PredictRequest) (*mlv1.PredictResponse, error) {
	m, err := s.modelRecord(ctx, req.ModelId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	if len(req.Rows) == 0 || len(req.Rows) > 10000 {
		return nil, grpcx.InvalidArgument("rows", "send 1 to 10000 rows (use BatchPredict for a whole dataset)")
	}
	lm, err := s.loadModel(ctx, m)
	if err != nil {
		return nil, err
	}
	if err := s.requireKnownColumns(ctx, m, lm.Features(), req.Rows); err != nil {
		return nil, err
	}
	if err := requireFeatures(lm.Features(), req.Rows); err != nil {
		return nil, err
	}
	f, warns, err := rowsFrame(lm, req.Rows)
	if err != nil {
		return nil, err
	}
	p, err := lm.Predict(f)
	if err != nil {
		return nil, grpcx.InvalidArgument("rows", err.Error())
	}
	out := &mlv1.PredictResponse{Warnings: warns}
	for i := 0; i < f.Rows; i++ {
		pr := &mlv1.Prediction{}
		if len(p.Label) > i {
			pr.Label = p.Label[i]
		}
		if len(p.Value) > i {
			pr.Value = p.Value[i]
			if pr.Label == "" {
				pr.Label = strconv.FormatFloat(p.Value[i], 'g', 6, 64)
			}
		}
		if len(p.Proba) > i {
			pr.Probabilities = p.Proba[i]
		}
		out.Predictions = append(out.Predictions, pr)
	}
	return out, nil
}

func (s *Server) Explain(ctx context.Context, req *mlv1.ExplainRequest) (*mlv1.ExplainResponse, error) {
	m, err := s.modelRecord(ctx, req.ModelId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	if req.MaxRows < 0 || req.MaxRows > 5000 {
		return nil, grpcx.InvalidArgument("max_rows", "must be between 0 (default 500) and 5000")
	}
	switch req.Method {
	case "", "permutation":
		return s.explainPermutation(ctx, m)
	case "shap", "pdp":
	default:
		return nil, grpcx.InvalidArgument("method", fmt.Sprintf("unknown method %q (use permutation, shap or pdp)", req.Method))
	}
	for _, c := range req.Columns {
		if !slices.Contains(m.Features, c) {
			return nil, grpcx.InvalidArgument("columns", fmt.Sprintf("the model does not use column %q; it uses %s", c, strings.Join(m.Features, ", ")))
		}
	}
	lm, err := s.loadModel(ctx, m)
	if err != nil {
		return nil, err
	}
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	uctx, err := s.rt.ActAs(ctx, who.UserID, m.ProjectId)
	if err != nil {
		return nil, err
	}
	f, err := s.rt.ReadFrame(uctx, m.Dataset.GetDatasetId(), m.Dataset.GetVersion(), m.Features)
	if err != nil {
		return nil, grpcx.FailedPrecondition("the training data of model %s cannot be read to explain it: %v", m.Id, err)
	}
	n := int(req.MaxRows)
	if n == 0 {
		n = 500
	}
	f = sampleRows(f, n, 1)
	if req.Method == "shap" {
		return s.explainSHAP(ctx, m, lm, f)
	}
	return s.explainPDP(ctx, m, lm, f, req.Columns)
}

// sampleRows keeps at most n rows of f, chosen at random with a fixed seed.
func sampleRows(f *frame.Frame, n int, seed int64) *frame.Frame {
	if f.Rows <= n {
		return f
	}
	rows := rand.New(rand.NewSource(seed)).Perm(f.Rows)[:n]
	sort.Ints(rows)
	return f.Take(rows)
}

func chartOf(ctx context.Context, m *mlv1.Model, kind, title string, spec charts.Spec) (*commonv1.Chart, error) {
	st, err := charts.ToStruct(spec)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "chart")
	}
	return &commonv1.Chart{Id: ids.New(ids.Chart), Title: title, Kind: kind, VegaLite: st, Source: "model " + m.Id}, nil
}

func (s *Server) explainPermutation(ctx context.Context, m *mlv1.Model) (*mlv1.ExplainResponse, error) {
	imps := append([]*mlv1.FeatureImportance(nil), m.Importances...)
	sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
	var names []string
	var vals []float64
	for _, imp := range imps {
		names, vals = append(names, imp.Feature), append(vals, imp.Importance)
	}
	ch, err := chartOf(ctx, m, "importance", "Drivers of "+m.Target,
		charts.Importance(fmt.Sprintf("What drives %s (permutation importance, drop in %s)", m.Target, m.Metric), names, vals))
	if err != nil {
		return nil, err
	}
	return &mlv1.ExplainResponse{Importances: imps, Charts: []*commonv1.Chart{ch}}, nil
}

func (s *Server) explainSHAP(ctx context.Context, m *mlv1.Model, lm *learn.Model, f *frame.Frame) (*mlv1.ExplainResponse, error) {
	sv, err := lm.SHAP(f)
	if err != nil {
		return nil, grpcx.FailedPrecondition("%v", err)
	}
	out := &mlv1.ExplainResponse{ExpectedValue: sv.Expected}
	vals := make([]float64, len(sv.Columns))
	for j := range sv.Columns {
		var all []float64
		for o := range sv.Values {
			for _, row := range sv.Values[o] {
				all = append(all, math.Abs(row[j]))
			}
		}
		var sum float64
		for _, v := range all {
			sum += v
		}
		mean := sum / float64(len(all))
		var ss float64
		for _, v := range all {
			ss += (v - mean) * (v - mean)
		}
		vals[j] = mean
		out.Importances = append(out.Importances, &mlv1.FeatureImportance{Feature: sv.Columns[j], Importance: mean, Std: math.Sqrt(ss / float64(max(1, len(all)-1)))})
	}
	sort.SliceStable(out.Importances, func(i, j int) bool { return out.Importances[i].Importance > out.Importances[j].Importance })
	scale := "the prediction"
	forest := m.Algorithm == learn.AlgoRandomForest || m.Algorithm == learn.AlgoExtraTrees
	// The greedy ensemble blends probabilities; its values are sampled Shapley values of the
	// blend's log-odds (log class probabilities), like naive Bayes' and nearest neighbours'.
	sampled := m.Algorithm == learn.AlgoEnsemble || m.Algorithm == learn.AlgoNaiveBayes || m.Algorithm == learn.AlgoKNN
	switch {
	case m.Task == mlv1.Task_TASK_BINARY && forest:
		scale = "P(" + m.PositiveClass + ")"
	case m.Task == mlv1.Task_TASK_BINARY:
		scale = "log-odds of " + m.PositiveClass
	case m.Task == mlv1.Task_TASK_MULTICLASS && forest:
		scale = "class probabilities, summed over classes"
	case m.Task == mlv1.Task_TASK_MULTICLASS && sampled:
		scale = "log class probabilities, summed over classes"
	case m.Task == mlv1.Task_TASK_MULTICLASS:
		scale = "class scores, summed over classes"
	}
	rows := 0
	if len(sv.Values) > 0 {
		rows = len(sv.Values[0])
	}
	how, title := "mean |SHAP value|", "SHAP drivers of "+m.Target
	if sampled { // the chart's title says so as well as the spec's
		how, title = "mean |sampled SHAP value|", "Sampled SHAP drivers of "+m.Target
	}
	ch, err := chartOf(ctx, m, "importance", title,
		charts.Importance(fmt.Sprintf("What drives %s (%s on %s, %s)", m.Target, how, scale, plural.Count(rows, "row")), sv.Columns, vals))
	if err != nil {
		return nil, err
	}
	out.Charts = append(out.Charts, ch)
	return out, nil
}

func (s *Server) explainPDP(ctx context.Context, m *mlv1.Model, lm *learn.Model, f *frame.Frame, cols []string) (*mlv1.ExplainResponse, error) {
	if len(cols) == 0 {
		imps := append([]*mlv1.FeatureImportance(nil), m.Importances...)
		sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
		for _, imp := range imps {
			if len(cols) < 3 {
				cols = append(cols, imp.Feature)
			}
		}
	}
	out := &mlv1.ExplainResponse{}
	for _, col := range cols {
		pts, err := lm.PartialDependence(f, col, 20)
		if err != nil {
			return nil, grpcx.FailedPrecondition("partial dependence on %s: %v", col, err)
		}
		outputs := []string{m.Target}
		switch m.Task {
		case mlv1.Task_TASK_BINARY:
			outputs = []string{"P(" + m.PositiveClass + ")"}
		case mlv1.Task_TASK_MULTICLASS:
			outputs = nil
			for _, c := range m.Classes {
				outputs = append(outputs, "P("+c+")")
			}
		}
		numeric := len(pts) > 0 && !math.IsNaN(pts[0].X)
		var rows []any
		for o, name := range outputs {
			pd := &mlv1.PartialDependence{Column: col, Output: name}
			for _, p := range pts {
				pd.Values = append(pd.Values, p.Value)
				pd.MeanPrediction = append(pd.MeanPrediction, p.Y[o])
				var xv any = p.Value
				if numeric {
					xv = p.X
				}
				rows = append(rows, map[string]any{col: xv, "prediction": p.Y[o], "output": name})
			}
			out.PartialDependence = append(out.PartialDependence, pd)
		}
		xType, mark := "nominal", "bar"
		if numeric {
			xType, mark = "quantitative", "line"
		}
		enc := map[string]any{
			"x": map[string]any{"field": col, "type": xType},
			"y": map[string]any{"field": "prediction", "type": "quantitative", "title": "mean prediction"},
		}
		if len(outputs) > 1 {
			enc["color"] = map[string]any{"field": "output", "type": "nominal"}
			if !numeric {
				enc["xOffset"] = map[string]any{"field": "output"}
			}
		}
		spec := charts.Spec{"$schema": charts.Schema, "width": "container",
			"title": fmt.Sprintf("Partial dependence of %s on %s (%d rows)", outputs[0], col, f.Rows),
			"data":  map[string]any{"values": rows}, "mark": map[string]any{"type": mark, "tooltip": true, "point": numeric}, "encoding": enc}
		if !numeric {
			spec["mark"] = map[string]any{"type": mark, "tooltip": true}
		}
		ch, err := chartOf(ctx, m, "partial_dependence", "Partial dependence on "+col, spec)
		if err != nil {
			return nil, err
		}
		out.Charts = append(out.Charts, ch)
	}
	return out, nil
}

// requireKnownColumns refuses a row column that is not a column of the model's training data (a
// misspelt name would otherwise be scored as a missing value), naming every such column and the
// model's features. Columns of the training data the model does not use (the target, the columns
// screening dropped or the request excluded) are ignored, so a row copied from the dataset scores.
func (s *Server) requireKnownColumns(ctx context.Context, m *mlv1.Model, features []string, rows []*mlv1.Row) error {
	known := map[string]bool{m.Target: true}
	for _, f := range features {
		known[f] = true
	}
	first := -1
	var unknown []string
	check := func() {
		first, unknown = -1, unknown[:0]
		for i, r := range rows {
			for k := range r.Values {
				if !known[k] && !slices.Contains(unknown, k) {
					unknown = append(unknown, k)
					if first < 0 {
						first = i
					}
				}
			}
		}
	}
	check()
	if len(unknown) == 0 {
		return nil
	}
	// Only now read the training: every column it read is the target, a feature or dropped.
	if tr, _, err := s.loadTraining(ctx, m.TrainingId, 0); err == nil {
		for _, d := range tr.DroppedColumns {
			known[d] = true
		}
		check()
		if len(unknown) == 0 {
			return nil
		}
	}
	sort.Strings(unknown)
	quoted := make([]string, len(unknown))
	for i, u := range unknown {
		quoted[i] = strconv.Quote(u)
	}
	list := features
	more := ""
	if len(list) > 50 {
		list, more = list[:50], fmt.Sprintf(" and %d more (GetModel lists them all)", len(features)-50)
	}
	noun := "column"
	if len(unknown) > 1 {
		noun = "columns"
	}
	return grpcx.InvalidArgument(fmt.Sprintf("rows[%d].values", first),
		fmt.Sprintf("unknown %s %s: not in the training data of model %s; the model's features are %s%s (check the spelling; other columns of the training data, such as the target %q, are ignored)",
			noun, strings.Join(quoted, ", "), m.Id, strings.Join(list, ", "), more, m.Target))
}

// requireFeatures refuses a row that names none of the model's features: it would be scored as if
// every value were missing, which is almost always a malformed request (a flat JSON object instead of
// {"values": {...}}, or the wrong model). Unknown columns are refused before, by requireKnownColumns.
func requireFeatures(features []string, rows []*mlv1.Row) error {
	known := make(map[string]bool, len(features))
	for _, f := range features {
		known[f] = true
	}
	for i, r := range rows {
		ok := false
		for k := range r.Values {
			if known[k] {
				ok = true
				break
			}
		}
		if !ok {
			list := features
			if len(list) > 20 {
				list = list[:20]
			}
			return grpcx.InvalidArgument(fmt.Sprintf("rows[%d].values", i),
				fmt.Sprintf("names none of the model's features; give at least one of: %s (as {\"values\": {\"column\": \"value\"}})", strings.Join(list, ", ")))
		}
	}
	return nil
}
