package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/pysandbox"
)

// artifactTypes are the output files that become execution artifacts, by extension.
var artifactTypes = map[string]string{".png": "image/png", ".svg": "image/svg+xml", ".vl.json": "application/vnd.vegalite+json", ".txt": "text/plain"}

// tableTypes are the output files that become dataset versions.
var tableTypes = map[string]bool{".csv": true, ".parquet": true}

// maxOutputTables and maxOutputArtifacts bound what one execution saves: each table is ingested
// as a dataset version. An execution that writes more saves none of its outputs (all or nothing)
// and ends OUTCOME_OUTPUT_LIMIT saying so.
const (
	maxOutputTables    = 20
	maxOutputArtifacts = 50
)

// outputsOverLimit names the limit a set of output files is over, or "".
func outputsOverLimit(files []pysandbox.File) string {
	var tables, artifacts int
	for _, f := range files {
		switch ext := extOf(f.Name); {
		case tableTypes[ext]:
			tables++
		case artifactTypes[ext] != "":
			artifacts++
		}
	}
	switch {
	case tables > maxOutputTables:
		return fmt.Sprintf("the code wrote %d output tables (.csv, .parquet), over the limit of %d per execution, so none of its outputs was saved; combine them into fewer tables (one table with a column saying which part a row belongs to)", tables, maxOutputTables)
	case artifacts > maxOutputArtifacts:
		return fmt.Sprintf("the code wrote %d figures and other artifacts, over the limit of %d per execution, so none of its outputs was saved; write fewer files", artifacts, maxOutputArtifacts)
	}
	return ""
}

func extOf(name string) string {
	if strings.HasSuffix(strings.ToLower(name), ".vl.json") {
		return ".vl.json"
	}
	return strings.ToLower(filepath.Ext(name))
}

// pandasRE picks the warm-pool profile with NumPy and pandas already imported.
var pandasRE = regexp.MustCompile(`\b(pandas|numpy|vds|matplotlib|scipy|sklearn|statsmodels)\b`)

// ArtifactKey is the object-store key of an execution artifact.
func ArtifactKey(executionID, artifactID string) string {
	return fmt.Sprintf("executions/%s/%s", executionID, artifactID)
}

func (s *Server) executePython(ctx context.Context, req *sandboxv1.ExecuteRequest, who *authn.Identity, exe *sandboxv1.Execution, ran *bool, stream sandboxv1.SandboxService_ExecuteServer) error {
	if s.pool == nil {
		return status.Error(codes.FailedPrecondition, "Python execution is not available on this server: "+s.pyReason+". Code is never run unsandboxed; use language SQL or install bubblewrap.")
	}
	lim := pysandbox.Limits{}
	if l := req.Limits; l != nil {
		if l.TimeoutMs < 0 || l.MemoryBytes < 0 || l.MaxOutputBytes < 0 {
			return grpcx.InvalidArgument("limits", "must not be negative")
		}
		lim.Wall = time.Duration(l.TimeoutMs) * time.Millisecond
		lim.CPU = lim.Wall
		lim.Memory = l.MemoryBytes
		lim.Output = l.MaxOutputBytes
	}
	lim = lim.Min(s.pyCeiling)
	exe.Limits = &sandboxv1.Limits{TimeoutMs: lim.Wall.Milliseconds(), MemoryBytes: lim.Memory, MaxOutputBytes: lim.Output}
	ins, err := s.resolveInputs(ctx, req)
	if err != nil {
		return err
	}
	var inputs []pysandbox.Input
	var inputIDs []string
	for _, in := range ins {
		staged, err := s.pyInputs(ctx, in)
		if err != nil {
			return grpcx.Internal(ctx, err, "prepare dataset for Python")
		}
		inputs = append(inputs, staged...)
		inputIDs = append(inputIDs, in.id)
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return grpcx.ResourceExhausted("the sandbox is running %d executions, its limit; retry shortly", s.cfg.Concurrent)
	}
	*ran = true
	// The record's row exists while the code runs; its final state is written once, with retries
	// (records.go), as for SQL.
	rec := s.beginRecord(ctx, exe)
	var mu sync.Mutex
	var sendErr error
	send := func(ev *sandboxv1.ExecuteResponse) {
		mu.Lock()
		defer mu.Unlock()
		if sendErr == nil {
			ev.ExecutionId = exe.Id
			sendErr = stream.Send(ev)
		}
	}
	profile := ""
	if pandasRE.MatchString(req.Code) {
		profile = "pandas"
	}
	res, err := s.pool.Run(ctx, profile, pysandbox.Job{Code: req.Code, Inputs: inputs, Limits: lim,
		Stdout: func(b []byte) {
			send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Stdout{Stdout: string(b)}})
		},
		Stderr: func(b []byte) {
			send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Stderr{Stderr: string(b)}})
		},
	})
	if err != nil {
		err = grpcx.Internal(ctx, err, "run the Python sandbox")
		exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_ERROR, Message: status.Convert(err).Message(), WallMs: time.Since(exe.CreateTime.AsTime()).Milliseconds()}
		s.finishRecord(ctx, rec, exe, true)
		return err
	}
	st := &sandboxv1.Status{Outcome: outcomeOfPy(res.Outcome), Message: res.Message, WallMs: res.Wall.Milliseconds(), CpuMs: res.CPU.Milliseconds(), PeakMemoryBytes: res.PeakRSS}
	// Outputs: tables become dataset versions, figures and specs become artifacts.
	bg := context.WithoutCancel(ctx)
	execInputs := append(append([]string(nil), inputIDs...), exe.Id)
	if over := outputsOverLimit(res.Files); res.Outcome == pysandbox.OK && over != "" {
		st.Outcome = sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT
		st.Message = strings.TrimSpace(strings.TrimPrefix(st.Message+"; "+over, "; "))
	}
	if res.Outcome == pysandbox.OK && st.Outcome == sandboxv1.Outcome_OUTCOME_OK {
		for _, f := range res.Files {
			ext := extOf(f.Name)
			switch {
			case tableTypes[ext]:
				up, err := s.upload(bg, who, req.ProjectId, f.Name, f.Data)
				if err != nil {
					st.Message = strings.TrimSpace(st.Message + "; " + fmt.Sprintf("saving %s failed: %v", f.Name, status.Convert(err).Message()))
					continue
				}
				ref := &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
				exe.Outputs = append(exe.Outputs, ref)
				_ = lineage.Record(bg, s.rt.Store, &lineagev1.Artifact{Id: fmt.Sprintf("%s.v%d", up.DatasetId, up.Version), Kind: "dataset_version", ProjectId: req.ProjectId, Label: f.Name},
					execInputs, "python", map[string]string{"code": truncate(req.Code, 2000), "execution_id": exe.Id, "file": f.Name})
				send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: f.Name, SavedAs: ref, Duplicate: up.Duplicate}}})
			case artifactTypes[ext] != "":
				a := &sandboxv1.ExecutionArtifact{Id: ids.New(ids.Object), Name: f.Name, ContentType: artifactTypes[ext], SizeBytes: int64(len(f.Data))}
				if _, err := s.rt.Blobs.Put(bg, ArtifactKey(exe.Id, a.Id), bytes.NewReader(f.Data), int64(len(f.Data))+1); err != nil {
					st.Message = strings.TrimSpace(st.Message + "; " + fmt.Sprintf("storing %s failed: %v", f.Name, err))
					continue
				}
				exe.Artifacts = append(exe.Artifacts, a)
				_ = lineage.Record(bg, s.rt.Store, &lineagev1.Artifact{Id: a.Id, Kind: "artifact", ProjectId: req.ProjectId, Label: f.Name},
					execInputs, "python", map[string]string{"execution_id": exe.Id, "file": f.Name})
				send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Artifact{Artifact: a}})
			}
		}
	}
	exe.Status = st
	s.finishRecord(bg, rec, exe, true)
	_ = lineage.Record(bg, s.rt.Store, &lineagev1.Artifact{Id: exe.Id, Kind: "execution", ProjectId: exe.ProjectId, Label: "Python: " + truncate(req.Code, 200)}, inputIDs, "python", map[string]string{"code": truncate(req.Code, 2000)})
	s.rt.Log.InfoContext(ctx, "execution", "id", exe.Id, "user", who.UserID, "project", exe.ProjectId, "language", "python", "outcome", st.Outcome.String(), "wall_ms", st.WallMs,
		"cpu_ms", st.CpuMs, "peak_bytes", st.PeakMemoryBytes, "warm", res.Warm, "outputs", len(exe.Outputs), "artifacts", len(exe.Artifacts))
	send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Status{Status: st}})
	mu.Lock()
	defer mu.Unlock()
	return sendErr
}

func outcomeOfPy(o pysandbox.Outcome) sandboxv1.Outcome {
	switch o {
	case pysandbox.OK:
		return sandboxv1.Outcome_OUTCOME_OK
	case pysandbox.Timeout, pysandbox.CPULimit:
		return sandboxv1.Outcome_OUTCOME_TIMEOUT
	case pysandbox.MemoryLimit:
		return sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT
	case pysandbox.ProcLimit:
		return sandboxv1.Outcome_OUTCOME_PROCESS_LIMIT
	case pysandbox.OutputLimit, pysandbox.FileLimit:
		return sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT
	}
	return sandboxv1.Outcome_OUTCOME_ERROR
}

// pyInputs stages one input for Python: the Parquet file itself when the sandbox's interpreter has
// a Parquet reader, else a cached CSV copy with the column types CSV loses (text that looks
// numeric, nullable booleans, timestamps) passed to vds.load.
func (s *Server) pyInputs(ctx context.Context, in input) ([]pysandbox.Input, error) {
	if s.pool.Sandbox().ParquetReader() != "" {
		return []pysandbox.Input{{Alias: in.alias, Name: in.alias + ".parquet", Path: in.parquet}}, nil
	}
	csv, cols, err := s.localCSV(ctx, in.parquet)
	if err != nil {
		return nil, err
	}
	return []pysandbox.Input{{Alias: in.alias, Name: in.alias + ".csv", Path: csv, Columns: cols}}, nil
}

// csvColumns maps DuckDB column types to how vds.load reads them back from CSV; numbers are left
// to pandas' own inference.
func csvColumns(cols []duck.ColumnInfo) map[string]string {
	m := map[string]string{}
	for _, c := range cols {
		t := strings.ToUpper(c.Type)
		switch {
		case t == "VARCHAR" || t == "UUID" || strings.HasPrefix(t, "ENUM"):
			m[c.Name] = "str"
		case t == "BOOLEAN":
			m[c.Name] = "boolean"
		case t == "DATE" || strings.HasPrefix(t, "TIMESTAMP"):
			m[c.Name] = "datetime"
		}
	}
	return m
}

var csvCols sync.Map // CSV path -> map[string]string

// localCSV returns a cached CSV copy of a cached Parquet version and its column reading hints (kept
// beside it as JSON).
func (s *Server) localCSV(ctx context.Context, parquetPath string) (string, map[string]string, error) {
	p := strings.TrimSuffix(parquetPath, ".parquet") + ".csv"
	if v, ok := csvCols.Load(p); ok {
		return p, v.(map[string]string), nil
	}
	colsPath := p + ".columns.json"
	if _, err := os.Stat(p); err == nil {
		var m map[string]string
		if b, err := os.ReadFile(colsPath); err == nil && json.Unmarshal(b, &m) == nil {
			csvCols.Store(p, m)
			return p, m, nil
		}
	}
	info, err := duck.Schema(ctx, parquetPath)
	if err != nil {
		return "", nil, err
	}
	m := csvColumns(info)
	b, _ := json.Marshal(m)
	tmp := p + ".part-" + ids.New(ids.Object)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", nil, err
	}
	if err := os.Rename(tmp, colsPath); err != nil {
		return "", nil, err
	}
	tmp += ".csv"
	if err := duck.ParquetToCSV(ctx, parquetPath, tmp); err != nil {
		os.Remove(tmp)
		return "", nil, err
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", nil, err
	}
	csvCols.Store(p, m)
	return p, m, nil
}

// upload stores an output table through the ingestion service, acting as the caller.
func (s *Server) upload(ctx context.Context, who *authn.Identity, projectID, name string, data []byte) (*datasetsv1.UploadResponse, error) {
	return s.uploadAs(ctx, who, projectID, name, name, data)
}

// uploadAs is upload with a dataset name other than the file name.
func (s *Server) uploadAs(ctx context.Context, who *authn.Identity, projectID, name, fileName string, data []byte) (*datasetsv1.UploadResponse, error) {
	actx, err := s.rt.ActAs(ctx, who.UserID, projectID)
	if err != nil {
		return nil, err
	}
	return s.rt.UploadTableAs(actx, projectID, name, fileName, data)
}
