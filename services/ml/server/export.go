package server

import (
	"context"
	"errors"
	"io"
	"strings"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/storage"
)

// Content types of Export.
const (
	ContentTypeONNX = "application/onnx"
	ContentTypeVDS  = "application/x-protobuf; messageType=vds.ml.v1.SignedModelArtifact"
)

// Export returns a registered model as ONNX (preprocessing included, see learn.ExportONNX) or as
// the signed data-only envelope the registry stores. Either way the stored artifact is checked
// first, exactly as for Predict: a tampered, unsigned or untrusted artifact is refused before it
// is parsed, so an export never launders a bad model.
func (s *Server) Export(ctx context.Context, req *mlv1.ExportRequest) (*mlv1.ExportResponse, error) {
	format := strings.ToLower(strings.TrimSpace(req.Format))
	switch format {
	case "":
		format = "onnx"
	case "onnx", "vds":
	default:
		return nil, grpcx.InvalidArgument("format", "use onnx or vds")
	}
	m, err := s.modelRecord(ctx, req.ModelId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	lm, signed, err := s.loadSigned(ctx, m)
	if err != nil {
		return nil, err
	}
	if format == "vds" {
		return &mlv1.ExportResponse{Content: signed, ContentType: ContentTypeVDS}, nil
	}
	b, err := lm.ExportONNX()
	if errors.Is(err, learn.ErrONNXUnsupported) {
		return nil, grpcx.FailedPrecondition("model %s (%s) cannot be exported to ONNX: %v; export format vds, or train with gbdt, random_forest, extra_trees, naive_bayes or a linear learner", m.Id, m.Algorithm, err)
	}
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "export model")
	}
	return &mlv1.ExportResponse{Content: b, ContentType: ContentTypeONNX}, nil
}

// loadSigned is loadModel that also returns the stored (verified) envelope bytes.
func (s *Server) loadSigned(ctx context.Context, m *mlv1.Model) (*learn.Model, []byte, error) {
	rc, err := s.rt.Blobs.Open(ctx, modelKey(m.Id))
	if err != nil {
		return nil, nil, grpcx.Internal(ctx, err, "load model")
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return nil, nil, grpcx.Internal(ctx, err, "load model")
	}
	lm, err := s.keys.OpenSigned(m.Id, m.Digest, b)
	if err != nil {
		s.rt.Log.Warn("model artifact refused", "model", m.Id, "reason", err.Error())
		return nil, nil, grpcx.FailedPrecondition("model %s was refused: %v; retrain it or restore the original artifact", m.Id, err)
	}
	return lm, b, nil
}
