package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/causal"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Graph storage: the latest version under KindGraph (ID = graph ID), every version under
// KindGraphVersion (ID = "<graph ID>.v<version>", parent = graph ID).
const (
	KindGraph        = "causal_graph"
	KindGraphVersion = "causal_graph_version"
	graphPrefix      = "grf"
	// Limits of the synchronous calls.
	maxDiscoverColumns = 40
	maxGraphNodes      = 500
)

// requestGraph returns the graph of an estimation request (inline edges, DOT text or a stored
// graph), or nil when there is none.
func (s *Server) requestGraph(ctx context.Context, req *causalv1.EstimateEffectRequest, projectID string) (*causal.Graph, error) {
	set := 0
	if req.Graph != nil && (len(req.Graph.Edges) > 0 || req.Graph.Dot != "") {
		set++
	}
	if req.GraphText != "" {
		set++
	}
	if req.GraphId != "" {
		set++
	}
	if set == 0 {
		return nil, nil
	}
	if set > 1 {
		return nil, grpcx.InvalidArgument("graph", "give one of graph, graph_text and graph_id")
	}
	switch {
	case req.GraphText != "":
		g, err := causal.ParseGraph(req.GraphText)
		if err != nil {
			return nil, grpcx.InvalidArgument("graph_text", err.Error())
		}
		return checkSize(g)
	case req.GraphId != "":
		pg, err := s.loadGraph(ctx, req.GraphId, req.GraphVersion)
		if err != nil {
			return nil, err
		}
		if pg.projectID != projectID {
			return nil, grpcx.NotFound("graph", req.GraphId)
		}
		g, err := causal.GraphFromProto(pg.graph)
		if err != nil {
			return nil, grpcx.Internal(ctx, err, "stored graph")
		}
		return g, nil
	}
	g, err := causal.GraphFromProto(req.Graph)
	if err != nil {
		return nil, grpcx.InvalidArgument("graph", err.Error())
	}
	return checkSize(g)
}

func checkSize(g *causal.Graph) (*causal.Graph, error) {
	if len(g.Nodes) > maxGraphNodes {
		return nil, grpcx.ResourceExhausted("the graph has %d nodes; at most %d are allowed", len(g.Nodes), maxGraphNodes)
	}
	return g, nil
}

type storedGraph struct {
	graph     *causalv1.CausalGraph
	projectID string
}

// loadGraph reads a graph version (0 = latest) that the caller may view.
func (s *Server) loadGraph(ctx context.Context, id string, version int32) (*storedGraph, error) {
	if err := ids.Check(id, graphPrefix); err != nil {
		return nil, grpcx.InvalidArgument("graph_id", err.Error())
	}
	if version < 0 {
		return nil, grpcx.InvalidArgument("version", "must not be negative")
	}
	kind, key := KindGraph, id
	if version > 0 {
		kind, key = KindGraphVersion, fmt.Sprintf("%s.v%d", id, version)
	}
	r, err := s.rt.Store.GetResource(ctx, kind, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, grpcx.NotFound("graph", id)
	}
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "graph", id)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "graph", id); err != nil {
		return nil, err
	}
	g := &causalv1.CausalGraph{}
	if err := proto.Unmarshal(r.Data, g); err != nil {
		return nil, grpcx.Internal(ctx, err, "read graph")
	}
	return &storedGraph{graph: g, projectID: r.ProjectID}, nil
}

// saveGraph stores g as version 1 of a new graph (id empty) or as the next version of id.
func (s *Server) saveGraph(ctx context.Context, projectID, parentID, id string, g *causal.Graph) (*causalv1.CausalGraph, error) {
	pg := g.Proto(nil)
	if id == "" {
		pg.Id, pg.Version = ids.New(graphPrefix), 1
		b, _ := proto.Marshal(pg)
		if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindGraph, ID: pg.Id, ProjectID: projectID, ParentID: parentID, Data: b}); err != nil {
			return nil, grpcx.Internal(ctx, err, "store graph")
		}
	} else {
		pg.Id = id
		_, err := s.rt.Store.UpdateResource(ctx, KindGraph, id, func(r storage.Resource) (storage.Resource, error) {
			old := &causalv1.CausalGraph{}
			if err := proto.Unmarshal(r.Data, old); err != nil {
				return r, err
			}
			pg.Version = old.Version + 1
			b, err := proto.Marshal(pg)
			r.Data = b
			return r, err
		})
		if err != nil {
			return nil, grpcx.FromStorage(ctx, err, "graph", id)
		}
	}
	b, _ := proto.Marshal(pg)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindGraphVersion, ID: fmt.Sprintf("%s.v%d", pg.Id, pg.Version), ProjectID: projectID,
		ParentID: pg.Id, Data: b}); err != nil {
		return nil, grpcx.Internal(ctx, err, "store graph version")
	}
	return pg, nil
}

func (s *Server) SaveGraph(ctx context.Context, req *causalv1.SaveGraphRequest) (*causalv1.SaveGraphResponse, error) {
	di, err := s.access(ctx, req.Dataset, storage.RoleEditor)
	if err != nil {
		return nil, err
	}
	var g *causal.Graph
	switch {
	case req.Text != "" && req.Graph != nil:
		return nil, grpcx.InvalidArgument("text", "give either graph or text, not both")
	case req.Text != "":
		if g, err = causal.ParseGraph(req.Text); err != nil {
			return nil, grpcx.InvalidArgument("text", err.Error())
		}
	case req.Graph != nil:
		if g, err = causal.GraphFromProto(req.Graph); err != nil {
			return nil, grpcx.InvalidArgument("graph", err.Error())
		}
	default:
		return nil, grpcx.InvalidArgument("graph", "is required (edges, DOT or text)")
	}
	if _, err := checkSize(g); err != nil {
		return nil, err
	}
	if req.GraphId != "" {
		old, err := s.loadGraph(ctx, req.GraphId, 0)
		if err != nil {
			return nil, err
		}
		if old.projectID != di.projectID {
			return nil, grpcx.NotFound("graph", req.GraphId)
		}
		if _, err := grpcx.Authorize(ctx, s.rt.Store, old.projectID, storage.RoleEditor, "graph", req.GraphId); err != nil {
			return nil, err
		}
	}
	pg, err := s.saveGraph(ctx, di.projectID, di.datasetID, req.GraphId, g)
	if err != nil {
		return nil, err
	}
	return &causalv1.SaveGraphResponse{Graph: pg}, nil
}

func (s *Server) GetGraph(ctx context.Context, req *causalv1.GetGraphRequest) (*causalv1.GetGraphResponse, error) {
	pg, err := s.loadGraph(ctx, req.GraphId, req.Version)
	if err != nil {
		return nil, err
	}
	return &causalv1.GetGraphResponse{Graph: pg.graph}, nil
}

type datasetInfo struct {
	projectID, datasetID string
	version              int32
	columns              []*datasetsv1.Column
	who                  *authn.Identity
}

// access resolves a dataset reference and checks that the caller has at least role min in its
// project (before anything else is validated, so that a stranger learns nothing).
func (s *Server) access(ctx context.Context, ref *commonv1.DatasetRef, min int) (*datasetInfo, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, ref)
	if err != nil {
		return nil, err
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, min, "dataset", ds.Id)
	if err != nil {
		return nil, err
	}
	return &datasetInfo{projectID: ds.ProjectId, datasetID: ds.Id, version: ver.Version, columns: ver.Columns, who: who}, nil
}

// read reads columns of the dataset version as the caller.
func (s *Server) read(ctx context.Context, di *datasetInfo, field string, cols []string) (*frame.Frame, error) {
	for _, c := range cols {
		if err := platform.RequireColumn(field, di.columns, c); err != nil {
			return nil, err
		}
	}
	uctx, err := s.rt.ActAs(ctx, di.who.UserID, di.projectID)
	if err != nil {
		return nil, err
	}
	f, err := s.rt.ReadFrame(uctx, di.datasetID, di.version, cols)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "read dataset")
	}
	return f, nil
}

// DiscoverGraph proposes a graph by the PC algorithm and stores it as version 1 of a new graph. A
// viewer may run it: it reads the data and stores only a derived proposal.
func (s *Server) DiscoverGraph(ctx context.Context, req *causalv1.DiscoverGraphRequest) (*causalv1.DiscoverGraphResponse, error) {
	di, err := s.access(ctx, req.Dataset, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	if req.Alpha < 0 || req.Alpha >= 1 {
		return nil, grpcx.InvalidArgument("alpha", "must lie in [0, 1) (0 means the default 0.01)")
	}
	cols := unique(req.Columns)
	if len(cols) == 1 {
		return nil, grpcx.InvalidArgument("columns", "need at least 2 columns")
	}
	if len(cols) > maxDiscoverColumns {
		return nil, grpcx.ResourceExhausted("the graph search is limited to %d columns, got %d", maxDiscoverColumns, len(cols))
	}
	if len(cols) == 0 {
		for _, c := range di.columns {
			cols = append(cols, c.Name)
		}
		if len(cols) > maxDiscoverColumns {
			return nil, grpcx.InvalidArgument("columns", fmt.Sprintf("the dataset has %d columns; list at most %d to search over", len(cols), maxDiscoverColumns))
		}
	}
	f, err := s.read(ctx, di, "columns", cols)
	if err != nil {
		return nil, err
	}
	opts := causal.PCOptions{Columns: cols, Alpha: req.Alpha}
	for _, e := range req.Forbidden {
		if !contains(cols, e.From) || !contains(cols, e.To) {
			return nil, grpcx.InvalidArgument("forbidden", fmt.Sprintf("edge %s -> %s names a column that is not searched", e.From, e.To))
		}
		opts.Forbidden = append(opts.Forbidden, [2]string{e.From, e.To})
	}
	for _, t := range req.Tiers {
		for _, c := range t.Columns {
			if !contains(cols, c) {
				return nil, grpcx.InvalidArgument("tiers", fmt.Sprintf("%q is not searched", c))
			}
		}
		opts.Tiers = append(opts.Tiers, t.Columns)
	}
	res, err := causal.PC(ctx, f, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, grpcx.FailedPrecondition("%s", err.Error())
	}
	pg, err := s.saveGraph(ctx, di.projectID, di.datasetID, "", res.Graph)
	if err != nil {
		return nil, err
	}
	vid := fmt.Sprintf("%s.v%d", di.datasetID, di.version)
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: pg.Id, Kind: "causal_graph", ProjectId: di.projectID,
		Label: fmt.Sprintf("PC graph over %d columns", len(cols))}, []string{vid}, "discover graph", map[string]string{"alpha": fmt.Sprint(req.Alpha)})
	return &causalv1.DiscoverGraphResponse{Graph: pg, Notes: res.Notes, Tests: int64(res.Tests)}, nil
}

func (s *Server) ExplainChange(ctx context.Context, req *causalv1.ExplainChangeRequest) (*causalv1.ExplainChangeResponse, error) {
	di, err := s.access(ctx, req.Dataset, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	if req.Outcome == "" {
		return nil, grpcx.InvalidArgument("outcome", "is required")
	}
	if req.TimeColumn == "" {
		return nil, grpcx.InvalidArgument("time_column", "is required")
	}
	if len(req.Segments) == 0 {
		return nil, grpcx.InvalidArgument("segments", "list at least one column to decompose by")
	}
	if len(req.Segments) > 50 {
		return nil, grpcx.ResourceExhausted("at most 50 segment columns, got %d", len(req.Segments))
	}
	for _, c := range req.Segments {
		if c == req.Outcome || c == req.TimeColumn {
			return nil, grpcx.InvalidArgument("segments", fmt.Sprintf("%q is the outcome or the time column", c))
		}
	}
	for _, c := range req.Covariates {
		if err := platform.RequireColumn("covariates", di.columns, c); err != nil {
			return nil, err
		}
		if c == req.Outcome {
			return nil, grpcx.InvalidArgument("covariates", fmt.Sprintf("%q is the outcome", c))
		}
	}
	if req.Method != "" && (!validMethod(req.Method) || req.Method == causal.MethodDifferenceInMeans) {
		return nil, grpcx.InvalidArgument("method", fmt.Sprintf("unknown method %q for driver effects (use one of %s)", req.Method, strings.Join(causal.Methods[1:], ", ")))
	}
	if req.DriverEffects < 0 || req.DriverEffects > 10 {
		return nil, grpcx.InvalidArgument("driver_effects", "must be between 0 (the default, 3) and 10")
	}
	spec := causal.ChangeSpec{Outcome: req.Outcome, TimeColumn: req.TimeColumn, Segments: req.Segments, Split: req.Split,
		DriverEffects: int(req.DriverEffects), Covariates: req.Covariates, Method: req.Method, Seed: 1}
	if req.SkipDriverEffects {
		spec.DriverEffects = -1
	}
	cols := unique(append(append([]string{req.Outcome, req.TimeColumn}, req.Segments...), req.Covariates...))
	g, err := s.requestGraph(ctx, &causalv1.EstimateEffectRequest{Graph: req.Graph, GraphText: req.GraphText, GraphId: req.GraphId, GraphVersion: req.GraphVersion}, di.projectID)
	if err != nil {
		return nil, err
	}
	if g != nil && !req.SkipDriverEffects {
		spec.Graph = g
		// Graph nodes that are columns are observed; the others are latent.
		for _, n := range g.Nodes {
			if platform.HasColumn(di.columns, n) {
				cols = append(cols, n)
			}
		}
		cols = unique(cols)
	}
	f, err := s.read(ctx, di, "segments", cols)
	if err != nil {
		return nil, err
	}
	res, err := causal.ExplainChangeContext(ctx, f, spec)
	if err != nil {
		if ctx.Err() != nil {
			return nil, grpcx.Internal(ctx, ctx.Err(), "explain change")
		}
		return nil, grpcx.FailedPrecondition("%s", err.Error())
	}
	return res, nil
}
