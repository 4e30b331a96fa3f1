// Package server implements the ingestion service: streaming uploads into the object store, ingest
// jobs that convert files to typed Parquet dataset versions, dataset metadata, and the Arrow Flight
// data plane (DoGet / GetFlightInfo) that every other service reads rows from.
package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/blobstore"
	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource kinds kept by this service.
const (
	KindDataset = "dataset"
	KindVersion = "dataset_version"
	KindUpload  = "upload"
	JobIngest   = "ingest"
)

// Config holds the ingestion limits.
type Config struct {
	MaxUploadBytes       int64
	MaxDecompressedBytes int64
	MaxLineBytes         int64 // 0: ingest.DefaultMaxLineBytes
	Workers              int
	DuckMemory           string
	DuckThreads          int
}

// Server is the ingestion service.
type Server struct {
	datasetsv1.UnimplementedDatasetServiceServer
	rt    *platform.Runtime
	cfg   Config
	cache string
}

// New makes the service; cache is a local folder for Parquet files read by DuckDB.
func New(rt *platform.Runtime, cfg Config) (*Server, error) {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 2 << 30
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	cache := filepath.Join(rt.Home, "cache", "ingestion")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, err
	}
	return &Server{rt: rt, cfg: cfg, cache: cache}, nil
}

// VersionID names a dataset version.
func VersionID(datasetID string, v int32) string { return fmt.Sprintf("%s.v%d", datasetID, v) }

func parquetKey(datasetID string, v int32) string { return platform.ParquetKey(datasetID, v) }

func rawKey(uploadID string) string { return "raw/" + uploadID }

func (s *Server) getDataset(ctx context.Context, id string, role int) (*datasetsv1.Dataset, error) {
	if err := ids.Check(id, ids.Dataset); err != nil {
		return nil, grpcx.InvalidArgument("dataset_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindDataset, id)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "dataset", id)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, role, "dataset", id); err != nil {
		return nil, err
	}
	d := &datasetsv1.Dataset{}
	if err := proto.Unmarshal(r.Data, d); err != nil {
		return nil, grpcx.Internal(ctx, err, "read dataset")
	}
	return d, nil
}

func (s *Server) getVersion(ctx context.Context, d *datasetsv1.Dataset, v int32) (*datasetsv1.DatasetVersion, error) {
	if v == 0 {
		v = d.LatestVersion
	}
	if v < 0 || v > d.LatestVersion {
		return nil, grpcx.NotFound("dataset version", VersionID(d.Id, v))
	}
	r, err := s.rt.Store.GetResource(ctx, KindVersion, VersionID(d.Id, v))
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "dataset version", VersionID(d.Id, v))
	}
	out := &datasetsv1.DatasetVersion{}
	return out, proto.Unmarshal(r.Data, out)
}

// readyVersion resolves a version that can be read (latest ready when v is 0).
func (s *Server) readyVersion(ctx context.Context, datasetID string, v int32) (*datasetsv1.Dataset, *datasetsv1.DatasetVersion, error) {
	d, err := s.getDataset(ctx, datasetID, storage.RoleViewer)
	if err != nil {
		return nil, nil, err
	}
	if v == 0 {
		for n := d.LatestVersion; n >= 1; n-- {
			ver, err := s.getVersion(ctx, d, n)
			if err == nil && ver.State == datasetsv1.VersionState_VERSION_STATE_READY {
				return d, ver, nil
			}
		}
		if d.Current != nil && d.Current.State == datasetsv1.VersionState_VERSION_STATE_FAILED {
			return nil, nil, grpcx.FailedPrecondition("dataset %s has no readable version: ingest failed: %s", d.Id, d.Current.Error)
		}
		return nil, nil, grpcx.FailedPrecondition("dataset %s is still being ingested; watch job %s and retry when it is done", d.Id, d.GetCurrent().GetJobId())
	}
	ver, err := s.getVersion(ctx, d, v)
	if err != nil {
		return nil, nil, err
	}
	if ver.State != datasetsv1.VersionState_VERSION_STATE_READY {
		return nil, nil, grpcx.FailedPrecondition("version %d of dataset %s is %s, not ready", v, d.Id, strings.ToLower(strings.TrimPrefix(ver.State.String(), "VERSION_STATE_")))
	}
	return d, ver, nil
}

// Upload streams the file into the object store, then queues the ingest job.
func (s *Server) Upload(stream datasetsv1.DatasetService_UploadServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return status.Error(codes.InvalidArgument, "upload: expected a first message with metadata")
	}
	md := first.GetMetadata()
	if md == nil {
		return grpcx.InvalidArgument("metadata", "the first upload message must carry metadata (project_id, file_name)")
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, md.ProjectId, storage.RoleEditor, "project", md.ProjectId)
	if err != nil {
		return err
	}
	if md.SizeBytes > s.cfg.MaxUploadBytes {
		return grpcx.ResourceExhausted("file is %d bytes; the upload limit is %d bytes (%s); nothing was stored", md.SizeBytes, s.cfg.MaxUploadBytes, config.Setting("max-upload-bytes"))
	}
	name := strings.TrimSpace(md.Name)
	fileName := filepath.Base(strings.ReplaceAll(md.FileName, "\\", "/")) // metadata only, never a path
	if name == "" {
		name = fileName
	}
	if name == "" || name == "." || name == "/" {
		return grpcx.InvalidArgument("file_name", "is required (the original name of the file, used as the dataset's name)")
	}
	if len(name) > 255 {
		return grpcx.InvalidArgument("name", "must be at most 255 characters")
	}
	var target *datasetsv1.Dataset
	if md.DatasetId != "" {
		if target, err = s.getDataset(ctx, md.DatasetId, storage.RoleEditor); err != nil {
			return err
		}
		if target.ProjectId != md.ProjectId {
			return grpcx.NotFound("dataset", md.DatasetId)
		}
	}
	uploadID := ids.New(ids.Upload)
	pr, pw := io.Pipe()
	go func() {
		var err error
		for {
			var m *datasetsv1.UploadRequest
			m, err = stream.Recv()
			if err != nil {
				break
			}
			if len(m.GetChunk()) == 0 && m.GetMetadata() != nil {
				err = grpcx.InvalidArgument("metadata", "sent twice; only the first message carries metadata")
				break
			}
			if _, err = pw.Write(m.GetChunk()); err != nil {
				break
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		pw.CloseWithError(err)
	}()
	put, err := s.rt.Blobs.Put(ctx, rawKey(uploadID), pr, s.cfg.MaxUploadBytes)
	pr.CloseWithError(io.ErrClosedPipe)
	resp, err := s.stored(ctx, who.UserID, md, target, name, fileName, "upload", uploadID, put, err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

// stored finishes an upload whose bytes went to rawKey(uploadID) (putErr is the result of that
// write): it maps limit errors, recognises duplicates, and creates the version and its ingest job.
// On any failure nothing is left behind.
func (s *Server) stored(ctx context.Context, userID string, md *datasetsv1.UploadMetadata, target *datasetsv1.Dataset, name, fileName, kind, uploadID string, put blobstore.PutResult, err error) (*datasetsv1.UploadResponse, error) {
	if err != nil {
		_ = s.rt.Blobs.Delete(context.WithoutCancel(ctx), rawKey(uploadID))
		if errors.Is(err, blobstore.ErrTooLarge) {
			return nil, grpcx.ResourceExhausted("upload exceeds the limit of %d bytes (%s); nothing was stored", s.cfg.MaxUploadBytes, config.Setting("max-upload-bytes"))
		}
		if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, grpcx.Internal(ctx, err, "upload")
	}
	if put.Size == 0 {
		s.rt.Blobs.Delete(context.WithoutCancel(ctx), rawKey(uploadID))
		return nil, emptyUpload(fileName, name)
	}
	// The same bytes in the same project are recognised: no new version.
	if dup, err := s.rt.Store.GetResourceByKey(ctx, KindUpload, md.ProjectId, put.SHA256); err == nil {
		prev := &datasetsv1.UploadResponse{}
		if proto.Unmarshal(dup.Data, prev) == nil {
			_, derr := s.rt.Store.GetResource(ctx, KindDataset, prev.DatasetId)
			dead, pending := s.deadIngest(ctx, prev)
			if derr == nil && !dead {
				s.rt.Blobs.Delete(context.WithoutCancel(ctx), rawKey(uploadID))
				prev.Duplicate = true
				return prev, nil
			}
			if derr == nil && pending {
				// Its ingest ended without a version (cancelled before a worker took it): the version
				// fails with the reason instead of staying pending, and its raw object goes.
				bg := context.WithoutCancel(ctx)
				s.fail(bg, VersionID(prev.DatasetId, prev.Version), fmt.Errorf("the ingest job %s ended without making this version; the same file was uploaded again", prev.JobId))
				_ = s.rt.Blobs.Delete(bg, rawKey(dup.ID))
			}
		}
		// Its dataset was deleted, or its ingest failed or was cancelled: ingest these bytes afresh
		// (from this upload's raw object, which is kept for that).
		_ = s.rt.Store.DeleteResource(ctx, KindUpload, dup.ID)
	}
	resp, err := s.createVersion(ctx, userID, md, target, name, fileName, kind, uploadID, put)
	if err != nil {
		s.rt.Blobs.Delete(context.WithoutCancel(ctx), rawKey(uploadID))
		return nil, err
	}
	return resp, nil
}

// emptyUpload is the InvalidArgument error of an upload with no bytes. It names the file the user
// sent (else the dataset's name), e.g. "empty.csv is empty (0 bytes): nothing to ingest", with the
// field "file" in its BadRequest details rather than as a prefix.
func emptyUpload(fileName, name string) error {
	what := "the file"
	if fileName != "" {
		what = fileName
	} else if name != "" {
		what = name
	}
	msg := what + " is empty (0 bytes): nothing to ingest"
	st := status.New(codes.InvalidArgument, msg)
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "file", Description: msg}}}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// deadIngest reports whether an earlier upload's version will never be ready: it failed, or it is
// still pending although its ingest job ended (cancelled before a worker took it, say).
func (s *Server) deadIngest(ctx context.Context, prev *datasetsv1.UploadResponse) (dead, pending bool) {
	r, err := s.rt.Store.GetResource(ctx, KindVersion, VersionID(prev.DatasetId, prev.Version))
	if err != nil {
		return false, false
	}
	ver := &datasetsv1.DatasetVersion{}
	if proto.Unmarshal(r.Data, ver) != nil {
		return false, false
	}
	switch ver.State {
	case datasetsv1.VersionState_VERSION_STATE_FAILED:
		return true, false
	case datasetsv1.VersionState_VERSION_STATE_PENDING:
		if prev.JobId == "" || s.rt.Queue == nil {
			return false, true
		}
		j, err := s.rt.Queue.Get(ctx, prev.JobId)
		return err == nil && jobs.Terminal(j.State) && j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED, true
	}
	return false, false
}

func (s *Server) createVersion(ctx context.Context, userID string, md *datasetsv1.UploadMetadata, target *datasetsv1.Dataset, name, fileName, kind, uploadID string, put blobstore.PutResult) (*datasetsv1.UploadResponse, error) {
	now := timestamppb.Now()
	var ds *datasetsv1.Dataset
	if target == nil {
		ds = &datasetsv1.Dataset{Id: ids.New(ids.Dataset), ProjectId: md.ProjectId, Name: name, LatestVersion: 1, CreateTime: now}
	} else {
		ds = target
		ds.LatestVersion++
	}
	jobID := ids.New(ids.Job)
	ver := &datasetsv1.DatasetVersion{DatasetId: ds.Id, Version: ds.LatestVersion, State: datasetsv1.VersionState_VERSION_STATE_PENDING, JobId: jobID,
		Origin: &datasetsv1.Origin{Kind: kind, FileName: fileName, SourceSha256: put.SHA256, SourceSizeBytes: put.Size}, CreateTime: now}
	ds.Current = ver
	vb, _ := proto.Marshal(ver)
	db, _ := proto.Marshal(ds)
	if target == nil {
		if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindDataset, ID: ds.Id, ProjectID: ds.ProjectId, State: "active", Data: db}); err != nil {
			return nil, grpcx.Internal(ctx, err, "create dataset")
		}
	} else {
		if _, err := s.rt.Store.UpdateResource(ctx, KindDataset, ds.Id, func(r storage.Resource) (storage.Resource, error) {
			old := &datasetsv1.Dataset{}
			if err := proto.Unmarshal(r.Data, old); err != nil {
				return r, err
			}
			ds.LatestVersion = old.LatestVersion + 1
			ver.Version = ds.LatestVersion
			vb, _ = proto.Marshal(ver)
			db, _ = proto.Marshal(ds)
			r.Data = db
			return r, nil
		}); err != nil {
			return nil, grpcx.Internal(ctx, err, "add version")
		}
	}
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindVersion, ID: VersionID(ds.Id, ver.Version), ProjectID: ds.ProjectId, ParentID: ds.Id, State: ver.State.String(), Data: vb}); err != nil {
		return nil, grpcx.Internal(ctx, err, "create version")
	}
	resp := &datasetsv1.UploadResponse{DatasetId: ds.Id, Version: ver.Version, JobId: jobID, Sha256: put.SHA256, SizeBytes: put.Size}
	rb, _ := proto.Marshal(resp)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindUpload, ID: uploadID, ProjectID: ds.ProjectId, ParentID: ds.Id, Key: put.SHA256, State: "stored", Data: rb}); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return nil, grpcx.Internal(ctx, err, "record upload")
	}
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: uploadID, Kind: "upload", ProjectId: ds.ProjectId, Label: "upload of " + fileName}, nil, "", nil)
	payload := &jobsv1.IngestTask{DatasetId: ds.Id, Version: ver.Version, UploadId: uploadID, Options: md.Options, UserId: userID}
	if _, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{Id: jobID, ProjectId: ds.ProjectId, Kind: JobIngest, ResultId: ds.Id}, payload); err != nil {
		return nil, grpcx.Internal(ctx, err, "queue ingest")
	}
	return resp, nil
}

func (s *Server) GetDataset(ctx context.Context, req *datasetsv1.GetDatasetRequest) (*datasetsv1.GetDatasetResponse, error) {
	d, err := s.getDataset(ctx, req.DatasetId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	if v, err := s.getVersion(ctx, d, 0); err == nil {
		d.Current = v
	}
	return &datasetsv1.GetDatasetResponse{Dataset: d}, nil
}

func (s *Server) ListDatasets(ctx context.Context, req *datasetsv1.ListDatasetsRequest) (*datasetsv1.ListDatasetsResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleViewer, "project", req.ProjectId); err != nil {
		return nil, err
	}
	size := int(req.PageSize)
	if size <= 0 || size > 200 {
		size = 50
	}
	rs, err := s.rt.Store.ListResources(ctx, storage.ListQuery{Kind: KindDataset, ProjectID: req.ProjectId, Limit: size, BeforeID: req.PageToken})
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list datasets")
	}
	out := &datasetsv1.ListDatasetsResponse{}
	for _, r := range rs {
		d := &datasetsv1.Dataset{}
		if proto.Unmarshal(r.Data, d) != nil {
			continue
		}
		if v, err := s.getVersion(ctx, d, 0); err == nil {
			d.Current = v
		}
		out.Datasets = append(out.Datasets, d)
	}
	if len(rs) == size {
		out.NextPageToken = rs[len(rs)-1].ID
	}
	return out, nil
}

func (s *Server) GetVersion(ctx context.Context, req *datasetsv1.GetVersionRequest) (*datasetsv1.GetVersionResponse, error) {
	d, err := s.getDataset(ctx, req.DatasetId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	v, err := s.getVersion(ctx, d, req.Version)
	if err != nil {
		return nil, err
	}
	return &datasetsv1.GetVersionResponse{Version: v}, nil
}

func (s *Server) ListVersions(ctx context.Context, req *datasetsv1.ListVersionsRequest) (*datasetsv1.ListVersionsResponse, error) {
	d, err := s.getDataset(ctx, req.DatasetId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	out := &datasetsv1.ListVersionsResponse{}
	for v := d.LatestVersion; v >= 1; v-- {
		if ver, err := s.getVersion(ctx, d, v); err == nil {
			out.Versions = append(out.Versions, ver)
		}
	}
	return out, nil
}

func (s *Server) DeleteDataset(ctx context.Context, req *datasetsv1.DeleteDatasetRequest) (*datasetsv1.DeleteDatasetResponse, error) {
	d, err := s.getDataset(ctx, req.DatasetId, storage.RoleEditor)
	if err != nil {
		return nil, err
	}
	for v := int32(1); v <= d.LatestVersion; v++ {
		_ = s.rt.Blobs.Delete(ctx, parquetKey(d.Id, v))
		_ = os.Remove(filepath.Join(s.cache, fmt.Sprintf("%s.v%d.parquet", d.Id, v)))
		_ = s.rt.Store.DeleteResource(ctx, KindVersion, VersionID(d.Id, v))
	}
	ups, _ := s.rt.Store.ListResources(ctx, storage.ListQuery{Kind: KindUpload, ParentID: d.Id})
	for _, u := range ups {
		_ = s.rt.Blobs.Delete(ctx, rawKey(u.ID))
		_ = s.rt.Store.DeleteResource(ctx, KindUpload, u.ID)
	}
	if err := s.rt.Store.DeleteResource(ctx, KindDataset, d.Id); err != nil {
		return nil, grpcx.FromStorage(ctx, err, "dataset", d.Id)
	}
	_ = grpcx.Audit(ctx, s.rt.Store, "dataset.deleted", d.ProjectId, d.Id, map[string]string{"name": d.Name})
	return &datasetsv1.DeleteDatasetResponse{}, nil
}

// localParquet returns a local path of a ready version's Parquet file, downloading it once.
func (s *Server) localParquet(ctx context.Context, datasetID string, v int32) (string, error) {
	p := filepath.Join(s.cache, fmt.Sprintf("%s.v%d.parquet", datasetID, v))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp := p + ".part-" + ids.New(ids.Object)
	if err := s.rt.Blobs.Download(ctx, parquetKey(datasetID, v), tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// previewDefault and previewMax are Preview's default and largest number of rows.
const previewDefault, previewMax = 20, 1000

// Preview returns the first rows as text.
func (s *Server) Preview(ctx context.Context, req *datasetsv1.PreviewRequest) (*datasetsv1.PreviewResponse, error) {
	// A negative limit was once taken as the default (20 rows) without a word.
	if req.Limit < 0 || req.Limit > previewMax {
		return nil, grpcx.InvalidArgument("limit", fmt.Sprintf("%d is out of range: the limit must be between 1 and %d rows (0 or no limit: %d rows); read more rows over Arrow Flight",
			req.Limit, previewMax, previewDefault))
	}
	_, ver, err := s.readyVersion(ctx, req.DatasetId, req.Version)
	if err != nil {
		return nil, err
	}
	limit := int64(req.Limit)
	if limit == 0 {
		limit = previewDefault
	}
	path, err := s.localParquet(ctx, ver.DatasetId, ver.Version)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "preview")
	}
	rdr, err := s.query(ctx, path, &datasetsv1.DatasetQuery{DatasetId: ver.DatasetId, Version: ver.Version, Columns: req.Columns, Limit: limit})
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	out := &datasetsv1.PreviewResponse{TotalRows: ver.RowCount}
	byName := map[string]*datasetsv1.Column{}
	for _, c := range ver.Columns {
		byName[c.Name] = c
	}
	for _, f := range rdr.Schema().Fields() {
		c := byName[f.Name]
		if c == nil {
			c = &datasetsv1.Column{Name: f.Name, PhysicalType: f.Type.String()}
		}
		if isBinary(f.Type) {
			c = proto.CloneOf(c)
			c.PhysicalType += " (preview cells in hex)"
		}
		out.Columns = append(out.Columns, c)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := &datasetsv1.PreviewRow{}
			for j := 0; j < int(rec.NumCols()); j++ {
				col := rec.Column(j)
				null := col.IsNull(i)
				cell := ""
				if !null {
					cell = previewCell(col, i)
				}
				row.Cells, row.Nulls = append(row.Cells, cell), append(row.Nulls, null)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, grpcx.Internal(ctx, err, "preview")
	}
	return out, nil
}

// previewCell renders cell i of col as text that owns its bytes and is valid UTF-8 (proto string
// fields must be). Arrow string values alias the record's buffers, which DuckDB and the allocator
// reuse once the batch is released, so they are copied; binary values are rendered as hex (the
// column's physical type says so); anything else uses Arrow's own rendering.
func previewCell(col arrow.Array, i int) string {
	var s string
	switch a := col.(type) {
	case *array.String:
		s = strings.Clone(a.Value(i))
	case *array.LargeString:
		s = strings.Clone(a.Value(i))
	case *array.StringView:
		s = strings.Clone(a.Value(i))
	case *array.Binary:
		return hex.EncodeToString(a.Value(i))
	case *array.LargeBinary:
		return hex.EncodeToString(a.Value(i))
	case *array.BinaryView:
		return hex.EncodeToString(a.Value(i))
	case *array.FixedSizeBinary:
		return hex.EncodeToString(a.Value(i))
	default:
		s = strings.Clone(col.ValueStr(i))
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func isBinary(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return true
	}
	return false
}
