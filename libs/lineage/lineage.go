// Package lineage records what every derived artifact was made from and serves the lineage graph.
package lineage

import (
	"context"
	"errors"

	"google.golang.org/protobuf/types/known/timestamppb"

	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource kind of artifact index entries (so any ID can be resolved to its project and label).
const Kind = "artifact"

// Record registers artifact a and the edges from its inputs, in the metadata store.
func Record(ctx context.Context, st storage.Storage, a *lineagev1.Artifact, inputs []string, operation string, params map[string]string) error {
	err := st.CreateResource(ctx, storage.Resource{Kind: Kind, ID: a.Id, ProjectID: a.ProjectId, State: a.Kind, Key: "", Data: []byte(a.Label)})
	if err != nil && !isExists(err) {
		return err
	}
	var edges []storage.Edge
	for _, in := range inputs {
		if in != "" {
			edges = append(edges, storage.Edge{FromID: in, ToID: a.Id, Operation: operation, Params: params})
		}
	}
	if len(edges) == 0 {
		return nil
	}
	return st.AddEdges(ctx, edges)
}

func isExists(err error) bool {
	return err != nil && errors.Is(err, storage.ErrAlreadyExists)
}

func artifact(r storage.Resource) *lineagev1.Artifact {
	return &lineagev1.Artifact{Id: r.ID, Kind: r.State, ProjectId: r.ProjectID, Label: string(r.Data), CreateTime: timestamppb.New(r.CreatedAt)}
}

// Service serves vds.lineage.v1.LineageService; every service registers it.
type Service struct {
	lineagev1.UnimplementedLineageServiceServer
	Store storage.Storage
}

// GetLineage walks upstream from an artifact, breadth first, within the caller's project.
func (s *Service) GetLineage(ctx context.Context, req *lineagev1.GetLineageRequest) (*lineagev1.GetLineageResponse, error) {
	if req.ArtifactId == "" {
		return nil, grpcx.InvalidArgument("artifact_id", "is required")
	}
	root, err := s.Store.GetResource(ctx, Kind, req.ArtifactId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "artifact", req.ArtifactId)
	}
	if _, err := grpcx.Authorize(ctx, s.Store, root.ProjectID, 1, "artifact", req.ArtifactId); err != nil {
		return nil, err
	}
	out := &lineagev1.GetLineageResponse{Root: artifact(root)}
	seen := map[string]bool{root.ID: true}
	frontier := []string{root.ID}
	for depth := 0; len(frontier) > 0 && (req.Depth <= 0 || depth < int(req.Depth)) && depth < 50; depth++ {
		edges, err := s.Store.EdgesInto(ctx, frontier)
		if err != nil {
			return nil, grpcx.Internal(ctx, err, "lineage")
		}
		frontier = nil
		for _, e := range edges {
			out.Edges = append(out.Edges, &lineagev1.Edge{FromId: e.FromID, ToId: e.ToID, Operation: e.Operation, Params: e.Params})
			if seen[e.FromID] {
				continue
			}
			seen[e.FromID] = true
			frontier = append(frontier, e.FromID)
			if r, err := s.Store.GetResource(ctx, Kind, e.FromID); err == nil && r.ProjectID == root.ProjectID {
				out.Artifacts = append(out.Artifacts, artifact(r))
			} else {
				out.Artifacts = append(out.Artifacts, &lineagev1.Artifact{Id: e.FromID})
			}
		}
	}
	return out, nil
}
