// Package server implements the sandbox service. SQL runs in a locked-down DuckDB connection (no
// external access, configuration locked, memory, thread, row and time limits) that sees only the
// requested dataset versions, by name. Every execution is recorded.
package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/pysandbox"
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
	// SQLKeep is how many locked SQL databases are kept for reuse by the same caller over the
	// same dataset versions (0: every query gets a fresh database).
	SQLKeep int
	// Python sandbox.
	PyPool     int
	PyMemory   int64
	PyOutput   int64
	PyProcs    int
	PyFileSize int64
	Bwrap      string
}

// Server is the sandbox service.
type Server struct {
	sandboxv1.UnimplementedSandboxServiceServer
	rt    *platform.Runtime
	cfg   Config
	cache string // copies of dataset versions, kept across restarts
	spill string // DuckDB's spill folders (scratch.go)
	slots chan struct{}
	// pool is nil when the Python sandbox cannot be built here; pyReason says why.
	pool      *pysandbox.Pool
	pyReason  string
	pyCeiling pysandbox.Limits
	warm      *duck.WarmPool
	// versions are ready dataset versions resolved in the last versionTTL, per project.
	versions versionCache
	// recs are the SQL execution records being written (records.go).
	recs records
}

// Service is the sandbox deployable.
func Service() platform.Service {
	cfg := Config{MaxTimeout: 60 * time.Second, MaxRows: 100000, Memory: "1GB", Threads: 2, MaxCode: 100000, Concurrent: 4, SQLKeep: 4,
		PyPool: 2, PyMemory: 2 << 30, PyOutput: 1 << 20, PyProcs: 64, PyFileSize: 64 << 20}
	return platform.Service{
		Name:  "sandbox",
		Peers: []string{"auth", "ingestion"},
		Flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&cfg.MaxTimeout, "sandbox-timeout", cfg.MaxTimeout, "longest an execution may run")
			fs.Int64Var(&cfg.MaxRows, "sandbox-max-rows", cfg.MaxRows, "most rows a query may return")
			fs.StringVar(&cfg.Memory, "sandbox-memory", cfg.Memory, "DuckDB memory limit per execution")
			fs.IntVar(&cfg.Concurrent, "sandbox-concurrency", cfg.Concurrent, "executions at once in this replica")
			fs.IntVar(&cfg.SQLKeep, "sandbox-sql-keep", cfg.SQLKeep, "locked SQL databases kept for reuse by the same caller over the same dataset versions; 0 gives every query a fresh database")
			fs.IntVar(&cfg.PyPool, "sandbox-python-pool", cfg.PyPool, "pre-started Python sandboxes kept per profile (plain, pandas); 0 starts each on demand")
			fs.Int64Var(&cfg.PyMemory, "sandbox-python-memory", cfg.PyMemory, "address-space (and cgroup memory) limit of one Python execution, bytes")
			fs.Int64Var(&cfg.PyOutput, "sandbox-python-output", cfg.PyOutput, "most stdout+stderr bytes one Python execution may write")
			fs.IntVar(&cfg.PyProcs, "sandbox-python-procs", cfg.PyProcs, "most processes and threads in one Python sandbox")
			fs.StringVar(&cfg.Bwrap, "sandbox-bwrap", cfg.Bwrap, "bubblewrap binary for the Python sandbox (default: bwrap on PATH); when missing, Python is refused")
			fs.Int64Var(&cfg.PyFileSize, "sandbox-python-file-size", cfg.PyFileSize, "largest file one Python execution may write, bytes")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			sc := scratchOf(rt.Home)
			if left, err := sc.sweep(); err != nil {
				return nil, err
			} else if len(left) > 0 {
				rt.Log.Info("removed the scratch folders of an earlier process", "count", len(left))
			}
			s := &Server{rt: rt, cfg: cfg, cache: sc.cache, spill: sc.spill, slots: make(chan struct{}, cfg.Concurrent), warm: duck.NewWarmPoolSpill(2, cfg.Memory, cfg.Threads, sc.spill)}
			s.warm.Keep(cfg.SQLKeep, 0)
			s.pyCeiling = pysandbox.Limits{Wall: cfg.MaxTimeout, CPU: cfg.MaxTimeout, Memory: cfg.PyMemory, Output: cfg.PyOutput, Procs: cfg.PyProcs, FileSize: cfg.PyFileSize}
			sb, err := pysandbox.New(ctx, pysandbox.Config{WorkDir: sc.work, Ceiling: s.pyCeiling, Bwrap: cfg.Bwrap})
			if err != nil {
				s.pyReason = err.Error()
				rt.Log.Warn("Python execution disabled", "reason", s.pyReason)
			} else {
				s.pool = pysandbox.NewPool(sb, cfg.PyPool, "", "pandas")
			}
			sandboxv1.RegisterSandboxServiceServer(srv, s)
			running.Lock()
			running.m[s] = true
			running.Unlock()
			return func(ctx context.Context) error {
				<-ctx.Done()
				// The executions in flight drain first: they use the pools, the scratch folders and
				// the records closed below.
				<-srv.Drained()
				running.Lock()
				delete(running.m, s)
				running.Unlock()
				// The execution records still being written are not lost on a graceful stop.
				wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := s.closeRecords(wctx); err != nil {
					rt.Log.Error("execution records still being written at shutdown", "err", err)
				}
				cancel()
				s.warm.Close()
				if s.pool != nil {
					s.pool.Close()
					s.pool.Sandbox().Close()
				}
				sc.remove()
				return nil
			}, nil
		},
	}
}

var running = struct {
	sync.Mutex
	m map[*Server]bool
}{m: map[*Server]bool{}}

// WaitWarm waits until the SQL warm pools of every sandbox service running in this process have
// closed their used databases and opened the replacements, and their execution records are
// written. Benchmarks call it between runs to measure latency without the previous query's
// background work running alongside.
func WaitWarm(ctx context.Context) error {
	running.Lock()
	var ss []*Server
	for s := range running.m {
		ss = append(ss, s)
	}
	running.Unlock()
	for _, s := range ss {
		if err := s.waitRecords(ctx); err != nil {
			return err
		}
		if err := s.warm.WaitIdle(ctx); err != nil {
			return err
		}
	}
	return nil
}

var aliasRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (s *Server) Execute(req *sandboxv1.ExecuteRequest, stream sandboxv1.SandboxService_ExecuteServer) (err error) {
	ctx := stream.Context()
	start := time.Now()
	// The record exists from the start: a request refused before any code runs is recorded too.
	exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: req.ProjectId, Language: req.Language, Code: truncate(req.Code, s.cfg.MaxCode),
		Inputs: req.Inputs, Limits: req.Limits, CreateTime: timestamppb.Now()}
	if who := authn.FromContext(ctx); who != nil {
		exe.UserId = who.UserID
	}
	member, ran := false, false
	defer func() {
		if err != nil && !ran {
			s.refuse(ctx, stream, exe, start, member, err)
		}
	}()
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleEditor, "project", req.ProjectId)
	if err != nil {
		member = status.Code(err) == codes.PermissionDenied // a member without the editor role
		return err
	}
	member = true
	switch req.Language {
	case sandboxv1.Language_LANGUAGE_SQL:
	case sandboxv1.Language_LANGUAGE_PYTHON:
	default:
		return grpcx.InvalidArgument("language", "must be LANGUAGE_SQL or LANGUAGE_PYTHON")
	}
	if len(req.Code) == 0 || len(req.Code) > s.cfg.MaxCode {
		return grpcx.InvalidArgument("code", fmt.Sprintf("must be 1 to %d characters", s.cfg.MaxCode))
	}
	if len(req.Inputs) > 16 {
		return grpcx.InvalidArgument("inputs", "name at most 16 datasets")
	}
	if err := checkSaveName(req); err != nil {
		return err
	}
	if req.Language == sandboxv1.Language_LANGUAGE_PYTHON {
		return s.executePython(ctx, req, who, exe, &ran, stream)
	}
	if len(req.Inputs) == 0 {
		return grpcx.InvalidArgument("inputs", "name 1 to 16 datasets to query")
	}
	lim := duck.Limits{Timeout: s.cfg.MaxTimeout, MaxRows: s.cfg.MaxRows, MemoryLimit: s.cfg.Memory, Threads: s.cfg.Threads, TempDir: s.spill, Warm: s.warm,
		Scope: req.ProjectId + "/" + who.UserID}
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
	exe.Limits = &sandboxv1.Limits{TimeoutMs: lim.Timeout.Milliseconds(), MaxRows: lim.MaxRows}
	ins, err := s.resolveInputs(ctx, req)
	if err != nil {
		return err
	}
	tables := map[string]string{}
	var inputIDs []string
	for _, in := range ins {
		tables[in.alias] = in.parquet
		inputIDs = append(inputIDs, in.id)
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return grpcx.ResourceExhausted("the sandbox is running %d executions, its limit; retry shortly", s.cfg.Concurrent)
	}
	ran = true
	// The execution's lineage node does not depend on the outcome: it is written while the query runs.
	lineageDone := make(chan struct{})
	go func() {
		defer close(lineageDone)
		_ = lineage.Record(context.WithoutCancel(ctx), s.rt.Store, &lineagev1.Artifact{Id: exe.Id, Kind: "execution", ProjectId: exe.ProjectId, Label: "SQL: " + truncate(req.Code, 200)}, inputIDs, "sql", map[string]string{"code": truncate(req.Code, 2000)})
	}()
	rec := s.beginRecord(ctx, exe) // the row exists while the query runs
	qstart := time.Now()
	res, qerr := duck.SQL(ctx, tables, req.Code, lim)
	st := &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_OK, WallMs: time.Since(qstart).Milliseconds()}
	// The final state is written exactly once (records.go), whatever ends the request: an error, an
	// encoding failure, a caller gone, or the end.
	// here: the caller waits for the write (the status goes out after it); the other callers
	// are leaving early (a send failed) and let it finish in the background.
	finish := func(here bool) {
		exe.Status = st
		s.finishRecord(ctx, rec, exe, here)
		<-lineageDone
		var rows int64
		var reused bool
		if res != nil {
			rows, reused = res.Rows, res.Reused
		}
		s.rt.Log.InfoContext(ctx, "execution", "id", exe.Id, "user", who.UserID, "project", exe.ProjectId, "language", "sql", "outcome", st.Outcome.String(),
			"wall_ms", st.WallMs, "rows", rows, "reused_database", reused, "outputs", len(exe.Outputs))
	}
	if qerr != nil {
		st.Outcome, st.Message = outcomeOf(ctx, qerr, lim.Timeout)
		st.Message = namesTables(st.Message, ins)
	} else {
		defer res.Release()
		st.Message = plural.Count(res.Rows, "row")
		if res.Truncated {
			st.Message += " (truncated at the limit of " + plural.Count(lim.MaxRows, "row") + ")"
		}
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(res.Schema))
		abort := func(err error) error {
			st.Outcome, st.Message = sandboxv1.Outcome_OUTCOME_ERROR, "the query ran but its result could not be sent: "+status.Convert(err).Message()
			finish(false)
			return err
		}
		for _, r := range res.Records {
			if err := w.Write(r); err != nil {
				return abort(grpcx.Internal(ctx, err, "encode result"))
			}
		}
		w.Close()
		if err := stream.Send(&sandboxv1.ExecuteResponse{ExecutionId: exe.Id, Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: "result", ArrowIpc: buf.Bytes(), RowCount: res.Rows, Truncated: res.Truncated}}}); err != nil {
			return abort(err)
		}
		if req.SaveResult {
			ref, name, dup, err := s.saveSQL(context.WithoutCancel(ctx), who, req, exe.Id, inputIDs, res)
			if err != nil {
				st.Outcome, st.Message = sandboxv1.Outcome_OUTCOME_ERROR, "the query ran but saving its result failed: "+status.Convert(err).Message()
			} else {
				exe.Outputs = append(exe.Outputs, ref)
				// The saved copy is a second table event after the rows (which went out before the
				// upload): named like the dataset it became, with saved_as and no Arrow data, as a
				// Python output table is.
				if err := stream.Send(&sandboxv1.ExecuteResponse{ExecutionId: exe.Id, Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: name, RowCount: res.Rows, Truncated: res.Truncated, SavedAs: ref, Duplicate: dup}}}); err != nil {
					finish(false) // the query ran and its result was saved; the caller left
					return err
				}
			}
		}
	}
	finish(true)
	// The status goes out once the final state is stored. Writing it in the background after the
	// status was measured slower on a loaded 2-core machine (the write competed with the response's
	// delivery: paired 1.46x vs 1.21x DuckDB alone over 100 interleaved runs), and this way any
	// replica's GetExecution finds the record final once the status has arrived.
	s.waitRecord(ctx, exe.Id)
	return stream.Send(&sandboxv1.ExecuteResponse{ExecutionId: exe.Id, Event: &sandboxv1.ExecuteResponse_Status{Status: st}})
}

func outcomeOf(ctx context.Context, err error, timeout time.Duration) (sandboxv1.Outcome, string) {
	if ctx.Err() != nil {
		return sandboxv1.Outcome_OUTCOME_ERROR, "cancelled by the caller"
	}
	msg := strings.TrimPrefix(err.Error(), duck.ErrInvalidArgument.Error()+": ")
	switch {
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		return sandboxv1.Outcome_OUTCOME_TIMEOUT, fmt.Sprintf("interrupted at the time limit of %s", timeout)
	case errors.Is(err, duck.ErrResourceExhausted) || status.Code(err) == codes.ResourceExhausted:
		if strings.Contains(msg, "needs more memory than its limit") {
			// SQL always runs at the server's memory limit: Limits.memory_bytes applies to Python only.
			msg += " (this limit is the server's maximum for SQL, --sandbox-memory; a request's limits cannot raise it)"
		}
		return sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT, msg
	case errors.Is(err, duck.ErrInvalidArgument) && (strings.Contains(msg, "Permission Error") || strings.Contains(msg, "only a single read-only query") || strings.Contains(msg, "refused in the sandbox") ||
		strings.Contains(msg, "exactly one statement")):
		// The lockdown said no: file access outside the inputs, writes, settings, extensions.
		return sandboxv1.Outcome_OUTCOME_REFUSED, msg
	case status.Code(err) == codes.PermissionDenied:
		return sandboxv1.Outcome_OUTCOME_REFUSED, status.Convert(err).Message()
	}
	return sandboxv1.Outcome_OUTCOME_ERROR, msg
}

// unknownTableRE finds DuckDB's error for a table a query names that the database does not have.
var unknownTableRE = regexp.MustCompile(`Catalog Error: Table with name (.+?) does not exist!`)

// namesTables makes DuckDB's error for an unknown table name the tables the execution does have
// (each input is a view named by its alias; the CLI names an input after its file, tips.csv ->
// tips), with the dataset version behind each. DuckDB's "Did you mean" line is kept when it names one
// of the inputs (it is dropped when it names another table, such as a system catalog table), and
// the position in the query that follows is kept. Any other message is returned as it is.
func namesTables(msg string, ins []input) string {
	m := unknownTableRE.FindStringSubmatchIndex(msg)
	if m == nil || len(ins) == 0 {
		return msg
	}
	have := make([]string, len(ins))
	for i, in := range ins {
		have[i] = in.alias + " (" + in.id + ")"
	}
	what := "the table"
	if len(ins) > 1 {
		what = "the tables"
	}
	return fmt.Sprintf("%sCatalog Error: table %q does not exist; this execution has %s: %s%s",
		msg[:m[0]], msg[m[2]:m[3]], what, strings.Join(have, ", "), onlyInputSuggestions(msg[m[1]:], ins))
}

// didYouMeanRE finds DuckDB's suggestion line after an unknown table name.
var didYouMeanRE = regexp.MustCompile(`\nDid you mean "([^"\n]*)"\?`)

// onlyInputSuggestions drops DuckDB's "Did you mean" suggestion when it names a table that is not
// one of the execution's inputs: DuckDB also suggests its own catalog tables ("pg_enum",
// "pg_sequence"), which the query has no reason to use. A suggestion of an input (also written
// with a schema, "main.tips") stays.
func onlyInputSuggestions(rest string, ins []input) string {
	m := didYouMeanRE.FindStringSubmatchIndex(rest)
	if m == nil {
		return rest
	}
	name := rest[m[2]:m[3]]
	for _, in := range ins {
		if name == in.alias || strings.HasSuffix(name, "."+in.alias) {
			return rest
		}
	}
	return rest[:m[0]] + rest[m[1]:]
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
	// Authorized: wait for a final state being written in this replica, then read it again.
	if s.waitRecord(ctx, req.ExecutionId) {
		if r, err = s.rt.Store.GetResource(ctx, KindExecution, req.ExecutionId); err != nil {
			return nil, grpcx.FromStorage(ctx, err, "execution", req.ExecutionId)
		}
	}
	e := &sandboxv1.Execution{}
	return &sandboxv1.GetExecutionResponse{Execution: e}, proto.Unmarshal(r.Data, e)
}

// saveSQL stores a query result as a new dataset (Parquet through the ingestion service) with
// lineage from the input versions and the execution, naming the query text. It returns the new
// version and the dataset's name; duplicate says the ingestion service recognised the bytes as an
// earlier upload of the project and returned that version instead (no new version was made).
func (s *Server) saveSQL(ctx context.Context, who *authn.Identity, req *sandboxv1.ExecuteRequest, exeID string, inputIDs []string, res *duck.Result) (ref *commonv1.DatasetRef, name string, duplicate bool, err error) {
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(res.Schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, "", false, err
	}
	for _, r := range res.Records {
		if err := w.WriteBuffered(r); err != nil {
			return nil, "", false, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", false, err
	}
	name = "sql-result-" + strings.TrimPrefix(exeID, ids.Execution+"_") + ".parquet"
	fileName := name
	if req.SaveName != "" {
		name, fileName = req.SaveName, saveFileName(req.SaveName)
	}
	up, err := s.uploadAs(ctx, who, req.ProjectId, name, fileName, buf.Bytes())
	if err != nil {
		return nil, "", false, err
	}
	ref = &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: fmt.Sprintf("%s.v%d", up.DatasetId, up.Version), Kind: "dataset_version", ProjectId: req.ProjectId, Label: name},
		append(append([]string(nil), inputIDs...), exeID), "sql", map[string]string{"code": truncate(req.Code, 2000), "execution_id": exeID})
	return ref, name, up.Duplicate, nil
}

// artifactChunk is the most artifact bytes one GetArtifact message carries.
const artifactChunk = 256 << 10

// GetArtifact streams one execution artifact's bytes from the object store, first message with its
// metadata. Project viewers only; an unknown or foreign execution, or an artifact that is not one of
// the execution's, is NotFound.
func (s *Server) GetArtifact(req *sandboxv1.GetArtifactRequest, stream sandboxv1.SandboxService_GetArtifactServer) error {
	ctx := stream.Context()
	if err := ids.Check(req.ExecutionId, ids.Execution); err != nil {
		return grpcx.InvalidArgument("execution_id", err.Error())
	}
	if err := ids.Check(req.ArtifactId, ids.Object); err != nil {
		return grpcx.InvalidArgument("artifact_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindExecution, req.ExecutionId)
	if err != nil {
		return grpcx.FromStorage(ctx, err, "execution", req.ExecutionId)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "execution", req.ExecutionId); err != nil {
		return err
	}
	e := &sandboxv1.Execution{}
	if err := proto.Unmarshal(r.Data, e); err != nil {
		return grpcx.Internal(ctx, err, "read execution")
	}
	var a *sandboxv1.ExecutionArtifact
	for _, x := range e.Artifacts {
		if x.Id == req.ArtifactId {
			a = x
		}
	}
	if a == nil {
		return grpcx.NotFound("artifact", req.ArtifactId)
	}
	rc, err := s.rt.Blobs.Open(ctx, ArtifactKey(e.Id, a.Id))
	if err != nil {
		return grpcx.Internal(ctx, err, "open artifact")
	}
	defer rc.Close()
	buf := make([]byte, artifactChunk)
	first := true
	for {
		n, rerr := io.ReadFull(rc, buf)
		if n > 0 || first {
			msg := &sandboxv1.GetArtifactResponse{Data: buf[:n]}
			if first {
				msg.Artifact = a
			}
			if err := stream.Send(msg); err != nil {
				return err
			}
			first = false
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return grpcx.Internal(ctx, rerr, "read artifact")
		}
	}
}
