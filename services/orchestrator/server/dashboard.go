package server

import (
	"context"
	"encoding/json"
	"strings"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/dashboard"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// ProposeDashboard profiles the dataset version (the profiling service caches it per version and
// target), lets libs/dashboard choose the layout, and runs its aggregate queries in the sandbox as
// the caller. Both peers need the editor role, so this RPC does too.
func (s *Server) ProposeDashboard(ctx context.Context, req *orchestratorv1.ProposeDashboardRequest) (*orchestratorv1.ProposeDashboardResponse, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id); err != nil {
		return nil, err
	}
	if req.Target != "" {
		if err := platform.RequireColumn("target", ver.Columns, req.Target); err != nil {
			return nil, err
		}
	}
	ref := &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}
	t := &tools{s: s, project: ds.ProjectId, ref: ref}
	prof, err := t.readyProfile(ctx, req.Target)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "profile the dataset")
	}
	d, err := dashboard.Propose(ctx, dashboard.Input{Name: ds.Name, Profile: prof, Target: req.Target, Query: t.SQL})
	if err != nil {
		if strings.HasPrefix(err.Error(), "dashboard: ") {
			return nil, grpcx.InvalidArgument("target", strings.TrimPrefix(err.Error(), "dashboard: "))
		}
		return nil, grpcx.Internal(ctx, err, "aggregate for the dashboard")
	}
	out := &orchestratorv1.Dashboard{Title: d.Title, Kind: d.Kind, Dataset: ref, Reason: d.Reason, ProfileId: prof.Id, Target: d.Target}
	for _, tl := range d.Tiles {
		out.Tiles = append(out.Tiles, &orchestratorv1.DashboardTile{Key: tl.Key, Label: tl.Label, Value: tl.Value, Number: tl.Number, HasNumber: tl.HasNumber, Detail: tl.Detail})
	}
	for _, p := range d.Panels {
		b, err := json.Marshal(p.Spec)
		if err != nil {
			return nil, grpcx.Internal(ctx, err, "encode a dashboard chart")
		}
		out.Panels = append(out.Panels, &orchestratorv1.DashboardPanel{Title: p.Title, Kind: p.Kind, VegaLiteJson: string(b), Width: int32(p.Width), Description: p.Description})
	}
	return &orchestratorv1.ProposeDashboardResponse{Dashboard: out}, nil
}

// readyProfile starts (or reuses) the version's profile and waits for it (Server.profileDone).
func (t *tools) readyProfile(ctx context.Context, target string) (*profilingv1.Profile, error) {
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
	p, err := c.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: st.ProfileId})
	if err != nil {
		return nil, err
	}
	return p.Profile, nil
}
