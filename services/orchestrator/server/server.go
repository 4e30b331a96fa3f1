// Package server implements the orchestrator: it turns a dataset and a question into a plan of real
// calls to the profiling and ML services (by dataset ID), runs it as a job, and assembles the report.
package server

import (
	"context"
	"flag"
	"fmt"
	"os"

	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/planner"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource and job kinds.
const (
	KindAnalysis = "analysis"
	JobAnalyze   = "analyze"
)

// Server is the orchestrator service.
type Server struct {
	orchestratorv1.UnimplementedOrchestratorServiceServer
	rt            *platform.Runtime
	defaultBudget time.Duration
	// llm is the language-model planner when one is configured; nil means the built-in planner.
	llm answerer
	// stopping is closed when the service begins to stop (grpcx.Server.Stopping); nil in tests
	// that make a Server by hand.
	stopping <-chan struct{}
}

// answerer is a planner that answers one question through the tools.
type answerer interface {
	Answer(ctx context.Context, tools planner.Tools, s *planner.Schema, question string, o planner.Options, emit func(*orchestratorv1.Event)) (*planner.Result, error)
}

// Service is the orchestrator deployable.
func Service() platform.Service {
	workers := 2
	budget := 30 * time.Second
	// The LLM settings default to their VDS_ variables so that the in-process mesh (which parses no
	// flags) picks them up too.
	llm := planner.LLMConfig{BaseURL: os.Getenv("VDS_LLM_BASE_URL"), Model: os.Getenv("VDS_LLM_MODEL"), APIKey: os.Getenv("VDS_LLM_API_KEY")}
	return platform.Service{
		Name:  "orchestrator",
		Peers: []string{"auth", "ingestion", "profiling", "ml", "causal", "sandbox"},
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&workers, "analysis-workers", workers, "analyses run at once across all orchestrator replicas")
			fs.DurationVar(&budget, "analysis-budget", budget, "default model-training budget of an analysis")
			fs.StringVar(&llm.BaseURL, "llm-base-url", llm.BaseURL, "OpenAI-compatible chat-completions API root (e.g. http://127.0.0.1:8000/v1); empty: the built-in planner only")
			fs.StringVar(&llm.Model, "llm-model", llm.Model, "model name sent to the LLM endpoint")
			fs.StringVar(&llm.APIKey, "llm-api-key", llm.APIKey, "bearer key for the LLM endpoint")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			s := &Server{rt: rt, defaultBudget: budget, stopping: srv.Stopping()}
			if llm.BaseURL != "" {
				l, err := planner.NewLLM(llm)
				if err != nil {
					return nil, fmt.Errorf("llm planner: %w", err)
				}
				s.llm = l
			}
			orchestratorv1.RegisterOrchestratorServiceServer(srv, s)
			return func(ctx context.Context) error { return rt.Queue.Work(ctx, JobAnalyze, workers, s.analyze) }, nil
		},
	}
}

func (s *Server) StartAnalysis(ctx context.Context, req *orchestratorv1.StartAnalysisRequest) (*orchestratorv1.StartAnalysisResponse, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id)
	if err != nil {
		return nil, err
	}
	// A target with no values is refused here, before the analysis job starts (its training would
	// fail only after the profile).
	if err := platform.RequireTarget("target", ver, req.Target); err != nil {
		return nil, err
	}
	if req.BudgetSeconds < 0 || req.BudgetSeconds > 3600 {
		return nil, grpcx.InvalidArgument("budget_seconds", "must be between 0 (the default) and 3600")
	}
	if len(req.Question) > 4000 {
		return nil, grpcx.InvalidArgument("question", "must be at most 4000 characters")
	}
	rep := &orchestratorv1.AnalysisReport{Id: ids.New(ids.Analysis), ProjectId: ds.ProjectId, Target: req.Target, Question: req.Question,
		Dataset: &orchestratorv1.ReportDataset{Id: ds.Id, Version: ver.Version, Name: ds.Name}, JobId: ids.New(ids.Job), CreateTime: timestamppb.Now()}
	b, _ := proto.Marshal(rep)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindAnalysis, ID: rep.Id, ProjectID: ds.ProjectId, ParentID: ds.Id, State: "queued", Data: b}); err != nil {
		return nil, grpcx.Internal(ctx, err, "start analysis")
	}
	task := &jobsv1.AnalyzeTask{AnalysisId: rep.Id, UserId: who.UserID, ProjectId: ds.ProjectId, BudgetSeconds: req.BudgetSeconds}
	if _, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{Id: rep.JobId, ProjectId: ds.ProjectId, Kind: JobAnalyze, ResultId: rep.Id}, task); err != nil {
		return nil, grpcx.Internal(ctx, err, "queue analysis")
	}
	return &orchestratorv1.StartAnalysisResponse{AnalysisId: rep.Id, JobId: rep.JobId}, nil
}

func (s *Server) GetAnalysisReport(ctx context.Context, req *orchestratorv1.GetAnalysisReportRequest) (*orchestratorv1.GetAnalysisReportResponse, error) {
	if err := ids.Check(req.AnalysisId, ids.Analysis); err != nil {
		return nil, grpcx.InvalidArgument("analysis_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindAnalysis, req.AnalysisId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "analysis", req.AnalysisId)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "analysis", req.AnalysisId); err != nil {
		return nil, err
	}
	rep := &orchestratorv1.AnalysisReport{}
	if err := proto.Unmarshal(r.Data, rep); err != nil {
		return nil, grpcx.Internal(ctx, err, "read analysis")
	}
	if r.State != "succeeded" && rep.Error == "" {
		return nil, grpcx.FailedPrecondition("analysis %s is %s; watch job %s", rep.Id, r.State, rep.JobId)
	}
	return &orchestratorv1.GetAnalysisReportResponse{Report: rep}, nil
}

func (s *Server) save(ctx context.Context, rep *orchestratorv1.AnalysisReport, state string) error {
	_, err := s.rt.Store.UpdateResource(ctx, KindAnalysis, rep.Id, func(r storage.Resource) (storage.Resource, error) {
		b, err := proto.Marshal(rep)
		r.Data, r.State = b, state
		return r, err
	})
	return err
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }
