// Package server implements the causal service: effect estimation jobs (regression adjustment, IPW,
// AIPW, matching, difference in means, T- and X-learners, and front-door or IV estimates when a
// graph allows only those) with balance, refutations and stated assumptions; stored, versioned
// causal graphs and their discovery by the PC algorithm; and "why did Y change" decompositions.
package server

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/causal"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource and job kinds.
const (
	KindEstimate        = "estimate"
	KindEstimateRequest = "estimate_request"
	JobEstimate         = "estimate"
)

// Server is the causal service.
type Server struct {
	causalv1.UnimplementedCausalServiceServer
	rt *platform.Runtime
}

// Service is the causal deployable.
func Service() platform.Service {
	workers := 1
	return platform.Service{
		Name:  "causal",
		Peers: []string{"auth", "ingestion"},
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&workers, "estimate-workers", workers, "estimation jobs run at once across all causal replicas")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			s := &Server{rt: rt}
			causalv1.RegisterCausalServiceServer(srv, s)
			return func(ctx context.Context) error { return rt.Queue.Work(ctx, JobEstimate, workers, s.run) }, nil
		},
	}
}

func validMethod(m string) bool { return m == "" || contains(causal.Methods, m) }

func (s *Server) EstimateEffect(ctx context.Context, req *causalv1.EstimateEffectRequest) (*causalv1.EstimateEffectResponse, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id)
	if err != nil {
		return nil, err
	}
	if err := platform.RequireColumn("treatment", ver.Columns, req.Treatment); err != nil {
		return nil, err
	}
	if err := platform.RequireColumn("outcome", ver.Columns, req.Outcome); err != nil {
		return nil, err
	}
	if req.Treatment == req.Outcome {
		return nil, grpcx.InvalidArgument("outcome", "must differ from the treatment")
	}
	for _, c := range append(append([]string(nil), req.Confounders...), req.Squared...) {
		if err := platform.RequireColumn("confounders", ver.Columns, c); err != nil {
			return nil, err
		}
		if c == req.Treatment || c == req.Outcome {
			return nil, grpcx.InvalidArgument("confounders", fmt.Sprintf("%q is the treatment or the outcome, not a confounder", c))
		}
	}
	if !validMethod(req.Method) {
		return nil, grpcx.InvalidArgument("method", fmt.Sprintf("unknown method %q (use one of %s)", req.Method, strings.Join(causal.Methods, ", ")))
	}
	for _, c := range req.Categorical {
		if !contains(req.Confounders, c) {
			return nil, grpcx.InvalidArgument("categorical", fmt.Sprintf("%q is not one of the confounders", c))
		}
	}
	if req.Estimand != "" && req.Estimand != causal.EstimandATE && req.Estimand != causal.EstimandATT {
		return nil, grpcx.InvalidArgument("estimand", "must be ate or att")
	}
	g, err := s.requestGraph(ctx, req, ds.ProjectId)
	if err != nil {
		return nil, err
	}
	if g != nil {
		// Keep the graph in the request as edges so that the job does not depend on the stored copy.
		req.Graph, req.GraphText, req.GraphId, req.GraphVersion = g.Proto(nil), "", "", 0
		for _, n := range []string{req.Treatment, req.Outcome} {
			if !contains(g.Nodes, n) {
				return nil, grpcx.InvalidArgument("graph", fmt.Sprintf("%q is not a node of the graph (its nodes: %s); write one edge 'a -> b' per line or a DOT digraph naming the dataset's columns",
					n, listSome(g.Nodes, 12)))
			}
		}
	}
	req.Dataset = &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}
	est := &causalv1.Estimate{Id: ids.New(ids.Estimate), ProjectId: ds.ProjectId, Dataset: req.Dataset, Treatment: req.Treatment, Outcome: req.Outcome,
		Method: req.Method, JobId: ids.New(ids.Job), CreateTime: timestamppb.Now()}
	rb, _ := proto.Marshal(req)
	eb, _ := proto.Marshal(est)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindEstimateRequest, ID: est.Id, ProjectID: ds.ProjectId, Data: rb}); err != nil {
		return nil, grpcx.Internal(ctx, err, "estimate")
	}
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindEstimate, ID: est.Id, ProjectID: ds.ProjectId, ParentID: ds.Id, State: "queued", Data: eb}); err != nil {
		return nil, grpcx.Internal(ctx, err, "estimate")
	}
	task := &jobsv1.EstimateTask{EstimateId: est.Id, UserId: who.UserID, ProjectId: ds.ProjectId}
	if _, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{Id: est.JobId, ProjectId: ds.ProjectId, Kind: JobEstimate, ResultId: est.Id}, task); err != nil {
		return nil, grpcx.Internal(ctx, err, "queue estimate")
	}
	return &causalv1.EstimateEffectResponse{EstimateId: est.Id, JobId: est.JobId}, nil
}

func (s *Server) run(ctx context.Context, t *jobs.Task) error {
	task := &jobsv1.EstimateTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	rr, err := s.rt.Store.GetResource(ctx, KindEstimateRequest, task.EstimateId)
	if err != nil {
		return jobs.Permanent(err)
	}
	req := &causalv1.EstimateEffectRequest{}
	if err := proto.Unmarshal(rr.Data, req); err != nil {
		return jobs.Permanent(err)
	}
	uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
	if err != nil {
		return err
	}
	cols := append([]string{req.Treatment, req.Outcome}, req.Confounders...)
	var g *causal.Graph
	if req.Graph != nil && (len(req.Graph.Edges) > 0 || req.Graph.Dot != "") {
		if g, err = causal.GraphFromProto(req.Graph); err != nil {
			return jobs.Permanent(err)
		}
		// Graph nodes that are columns are observed; the others are latent.
		_, ver, err := s.rt.DatasetVersion(uctx, req.Dataset)
		if err != nil {
			return err
		}
		for _, n := range g.Nodes {
			if platform.HasColumn(ver.Columns, n) {
				cols = append(cols, n)
			}
		}
	}
	cols = unique(append(cols, req.Squared...))
	if err := t.Progress(ctx, 0.1, "reading data", ""); err != nil {
		return err
	}
	f, err := s.rt.ReadFrame(uctx, req.Dataset.DatasetId, req.Dataset.Version, cols)
	if err != nil {
		return err
	}
	if err := t.Progress(ctx, 0.3, "estimating", req.Method); err != nil {
		return err
	}
	got, err := causal.Estimate(ctx, f, causal.Spec{Treatment: req.Treatment, Outcome: req.Outcome, Confounders: req.Confounders,
		Method: req.Method, TreatedValue: req.TreatedValue, Squared: req.Squared, Categorical: req.Categorical, Estimand: req.Estimand,
		Graph: g, Seed: 1, ReferenceValue: req.ReferenceValue})
	state := "succeeded"
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		state = "failed"
	}
	_, uerr := s.rt.Store.UpdateResource(ctx, KindEstimate, task.EstimateId, func(r storage.Resource) (storage.Resource, error) {
		old := &causalv1.Estimate{}
		if err := proto.Unmarshal(r.Data, old); err != nil {
			return r, err
		}
		if got != nil {
			got.Id, got.ProjectId, got.Dataset, got.JobId, got.CreateTime = old.Id, old.ProjectId, old.Dataset, old.JobId, old.CreateTime
			old = got
		} else {
			old.Error = err.Error()
		}
		b, merr := proto.Marshal(old)
		r.Data, r.State = b, state
		return r, merr
	})
	if err != nil {
		return jobs.Permanent(err)
	}
	if uerr != nil {
		return uerr
	}
	if got == nil {
		return t.SetResult(ctx, task.EstimateId)
	}
	vid := fmt.Sprintf("%s.v%d", req.Dataset.DatasetId, req.Dataset.Version)
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: task.EstimateId, Kind: "estimate", ProjectId: task.ProjectId,
		Label: fmt.Sprintf("effect of %s on %s (%s): %.4g", req.Treatment, req.Outcome, got.Method, got.Ate)}, []string{vid}, "estimate effect",
		map[string]string{"treatment": req.Treatment, "outcome": req.Outcome, "method": got.Method})
	return t.SetResult(ctx, task.EstimateId)
}

func unique(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) GetEstimate(ctx context.Context, req *causalv1.GetEstimateRequest) (*causalv1.GetEstimateResponse, error) {
	if err := ids.Check(req.EstimateId, ids.Estimate); err != nil {
		return nil, grpcx.InvalidArgument("estimate_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindEstimate, req.EstimateId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "estimate", req.EstimateId)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "estimate", req.EstimateId); err != nil {
		return nil, err
	}
	e := &causalv1.Estimate{}
	if err := proto.Unmarshal(r.Data, e); err != nil {
		return nil, grpcx.Internal(ctx, err, "read estimate")
	}
	return &causalv1.GetEstimateResponse{Estimate: e}, nil
}

// listSome joins up to max names, saying how many more there are.
func listSome(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}
