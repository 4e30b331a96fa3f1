// Package server implements the sandbox service. SQL runs in a locked-down DuckDB connection (no
// external access, configuration locked, memory, thread, row and time limits) that sees only the
// requested dataset versions, by name. Every execution is recorded.
package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// KindExecution is the resource kind of execution records.
const KindExecution = "execution"

// Config holds the hard limits; requests may ask for less, never more.
type Config struct {
	MaxTimeout time.Duration
	MaxRows    int64
	Memory     string
	Threads    int
	MaxCode    int
	Concurrent int
}

// Server is the sandbox service.
type Server struct {
	sandboxv1.UnimplementedSandboxServiceServer
	rt    *platform.Runtime
	cfg   Config
	cache string
	slots chan struct{}
}

// Service is the sandbox deployable.
func Service() platform.Service {
	cfg := Config{MaxTimeout: 60 * time.Second, MaxRows: 100000, Memory: "1GB", Threads: 2, MaxCode: 100000, Concurrent: 4}
	return platform.Service{
		Name:  "sandbox",
		Peers: []string{"auth", "ingestion"},
		Flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&cfg.MaxTimeout, "sandbox-timeout", cfg.MaxTimeout, "longest an execution may run")
			fs.Int64Var(&cfg.MaxRows, "sandbox-max-rows", cfg.MaxRows, "most rows a query may return")
			fs.StringVar(&cfg.Memory, "sandbox-memory", cfg.Memory, "DuckDB memory limit per execution")
			fs.IntVar(&cfg.Concurrent, "sandbox-concurrency", cfg.Concurrent, "executions at once in this replica")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			cache := filepath.Join(rt.Home, "cache", "sandbox")
			if err := os.MkdirAll(cache, 0o700); err != nil {
				return nil, err
			}
			sandboxv1.RegisterSandboxServiceServer(srv, &Server{rt: rt, cfg: cfg, cache: cache, slots: make(chan struct{}, cfg.Concurrent)})
			return nil, nil
		},
	}
}

var aliasRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (s *Server) Execute(req *sandboxv1.ExecuteRequest, stream sandboxv1.SandboxService_ExecuteServer) error {
	ctx := stream.Context()
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleEditor, "project", req.ProjectId)
	if err != nil {
		return err
	}
	switch req.Language {
	case sandboxv1.Language_LANGUAGE_SQL:
	case sandboxv1.Language_LANGUAGE_PYTHON:
		return status.Error(codes.FailedPrecondition, "Python execution is not available on this server: it needs the bubblewrap OS sandbox, which this build does not enable yet; code is never run unsandboxed. Use language SQL.")
	default:
		return grpcx.InvalidArgument("language", "must be LANGUAGE_SQL or LANGUAGE_PYTHON")
	}
	if len(req.Code) == 0 || len(req.Code) > s.cfg.MaxCode {
		return grpcx.InvalidArgument("code", fmt.Sprintf("must be 1 to %d characters", s.cfg.MaxCode))
	}
	if len(req.Inputs) == 0 || len(req.Inputs) > 16 {
		return grpcx.InvalidArgument("inputs", "name 1 to 16 datasets to query")
	}
	lim := duck.Limits{Timeout: s.cfg.MaxTimeout, MaxRows: s.cfg.MaxRows, MemoryLimit: s.cfg.Memory, Threads: s.cfg.Threads, TempDir: s.cache}
	if l := req.Limits; l != nil {
		if l.TimeoutMs < 0 || l.MaxRows < 0 {
			return grpcx.InvalidArgument("limits", "must not be negative")
		}
		if d := time.Duration(l.TimeoutMs) * time.Millisecond; d > 0 && d < lim.Timeout {
			lim.Timeout = d
		}
		if l.MaxRows > 0 && l.MaxRows < lim.MaxRows {
			lim.MaxRows = l.MaxRows
		}
	}
	tables := map[string]string{}
	var inputIDs []string
	for i, in := range req.Inputs {
		alias := in.Alias
		if alias == "" {
			alias = "data"
			if i > 0 {
				alias = fmt.Sprintf("data%d", i+1)
			}
		}
		if !aliasRE.MatchString(alias) {
			return grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), "must be a plain SQL name (letters, digits, underscore)")
		}
		if _, dup := tables[alias]; dup {
			return grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), fmt.Sprintf("%q is used twice", alias))
		}
		ds, ver, err := s.rt.DatasetVersion(ctx, in.Dataset)
		if err != nil {
			return err
		}
		if ds.ProjectId != req.ProjectId {
			return grpcx.NotFound("dataset", ds.Id)
		}
		path, err := s.local(ctx, ver.DatasetId, ver.Version)
		if err != nil {
			return grpcx.Internal(ctx, err, "read dataset")
		}
		tables[alias] = path
		inputIDs = append(inputIDs, fmt.Sprintf("%s.v%d", ver.DatasetId, ver.Version))
		in.Dataset = &commonv1.DatasetRef{DatasetId: ver.DatasetId, Version: ver.Version}
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return grpcx.ResourceExhausted("the sandbox is running %d executions, its limit; retry shortly", s.cfg.Concurrent)
	}
	exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: req.ProjectId, UserId: who.UserID, Language: req.Language, Code: req.Code,
		Inputs: req.Inputs, Limits: &sandboxv1.Limits{TimeoutMs: lim.Timeout.Milliseconds(), MaxRows: lim.MaxRows}, CreateTime: timestamppb.Now()}
	start := time.Now()
	res, qerr := duck.SQL(ctx, tables, req.Code, lim)
	st := &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK, WallMs: time.Since(start).Milliseconds()}
	if qerr != nil {
		st.Outcome, st.Message = outcomeOf(ctx, qerr, lim.Timeout)
	} else {
		defer res.Release()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(res.Schema))
		for _, r := range res.Records {
			if err := w.Write(r); err != nil {
				return grpcx.Internal(ctx, err, "encode result")
			}
		}
		w.Close()
		if err := stream.Send(&sandboxv1.ExecuteResponse{ExecutionId: exe.Id, Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "result", ArrowIpc: buf.Bytes(), RowCount: res.Rows, Truncated: res.Truncated}}}); err != nil {
			return err
		}
		st.Message = fmt.Sprintf("%d rows", res.Rows)
		if res.Truncated {
			st.Message += fmt.Sprintf(" (truncated at the limit of %d rows)", lim.MaxRows)
		}
	}
	exe.Status = st
	b, _ := proto.Marshal(exe)
	_ = s.rt.Store.CreateResource(context.WithoutCancel(ctx), storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId, State: st.Outcome.String(), Data: b})
	_ = lineage.Record(context.WithoutCancel(ctx), s.rt.Store, &lineagev1.Artifact{Id: exe.Id, Kind: "execution", ProjectId: exe.ProjectId, Label: "SQL: " + truncate(req.Code, 200)}, inputIDs, "sql", map[string]string{"code": truncate(req.Code, 2000)})
	return stream.Send(&sandboxv1.ExecuteResponse{ExecutionId: exe.Id, Event: &sandboxv1.ExecuteResponse_Status{Status: st}})
}

func outcomeOf(ctx context.Context, err error, timeout time.Duration) (sandboxv1.Outcome, string) {
	if ctx.Err() != nil {
		return sandboxv1.Outcome_OUTCOME_ERROR, "cancelled by the caller"
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return sandboxv1.Outcome_OUTCOME_TIMEOUT, fmt.Sprintf("stopped at the time limit of %s", timeout)
	case codes.InvalidArgument, codes.PermissionDenied:
		return sandboxv1.Outcome_OUTCOME_REFUSED, status.Convert(err).Message()
	case codes.ResourceExhausted:
		return sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT, status.Convert(err).Message()
	}
	return sandboxv1.Outcome_OUTCOME_ERROR, err.Error()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// local returns a cached local copy of a version's Parquet object (versions are immutable).
func (s *Server) local(ctx context.Context, datasetID string, v int32) (string, error) {
	p := filepath.Join(s.cache, fmt.Sprintf("%s.v%d.parquet", datasetID, v))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp := p + ".part-" + ids.New(ids.Object)
	if err := s.rt.Blobs.Download(ctx, platform.ParquetKey(datasetID, v), tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return p, os.Rename(tmp, p)
}

func (s *Server) GetExecution(ctx context.Context, req *sandboxv1.GetExecutionRequest) (*sandboxv1.GetExecutionResponse, error) {
	if err := ids.Check(req.ExecutionId, ids.Execution); err != nil {
		return nil, grpcx.InvalidArgument("execution_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindExecution, req.ExecutionId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "execution", req.ExecutionId)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "execution", req.ExecutionId); err != nil {
		return nil, err
	}
	e := &sandboxv1.Execution{}
	return &sandboxv1.GetExecutionResponse{Execution: e}, proto.Unmarshal(r.Data, e)
}
