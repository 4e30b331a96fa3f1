package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	"github.com/vdsproject/vds/libs/storage"
)

// artifactTypes are the output files that become execution artifacts, by extension.
var artifactTypes = map[string]string{".png": "image/png", ".svg": "image/svg+xml", ".vl.json": "application/vnd.vegalite+json", ".txt": "text/plain"}

// tableTypes are the output files that become dataset versions.
var tableTypes = map[string]bool{".csv": true, ".parquet": true}

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

func (s *Server) executePython(ctx context.Context, req *sandboxv1.ExecuteRequest, who *authn.Identity, stream sandboxv1.SandboxService_ExecuteServer) error {
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
	var inputs []pysandbox.Input
	var inputIDs []string
	seen := map[string]bool{}
	for i, in := range req.Inputs {
		alias := in.Alias
		if alias == "" {
			alias = "data"
			if i > 0 {
				alias = fmt.Sprintf("data%d", i+1)
			}
		}
		if !aliasRE.MatchString(alias) {
			return grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), "must be a plain name (letters, digits, underscore)")
		}
		if seen[alias] {
			return grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), fmt.Sprintf("%q is used twice", alias))
		}
		seen[alias] = true
		ds, ver, err := s.rt.DatasetVersion(ctx, in.Dataset)
		if err != nil {
			return err
		}
		if ds.ProjectId != req.ProjectId {
			return grpcx.NotFound("dataset", ds.Id)
		}
		pq, err := s.local(ctx, ver.DatasetId, ver.Version)
		if err != nil {
			return grpcx.Internal(ctx, err, "read dataset")
		}
		csv, err := s.localCSV(ctx, pq)
		if err != nil {
			return grpcx.Internal(ctx, err, "prepare dataset for Python")
		}
		inputs = append(inputs, pysandbox.Input{Alias: alias, Name: alias + ".csv", Path: csv})
		inputIDs = append(inputIDs, fmt.Sprintf("%s.v%d", ver.DatasetId, ver.Version))
		in.Alias = alias
		in.Dataset = &commonv1.DatasetRef{DatasetId: ver.DatasetId, Version: ver.Version}
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return grpcx.ResourceExhausted("the sandbox is running %d executions, its limit; retry shortly", s.cfg.Concurrent)
	}
	exe := &sandboxv1.Execution{Id: ids.New(ids.Execution), ProjectId: req.ProjectId, UserId: who.UserID, Language: req.Language, Code: req.Code,
		Inputs: req.Inputs, Limits: &sandboxv1.Limits{TimeoutMs: lim.Wall.Milliseconds(), MemoryBytes: lim.Memory, MaxOutputBytes: lim.Output}, CreateTime: timestamppb.Now()}
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
		return grpcx.Internal(ctx, err, "run the Python sandbox")
	}
	st := &sandboxv1.Status{Outcome: outcomeOfPy(res.Outcome), Message: res.Message, WallMs: res.Wall.Milliseconds(), CpuMs: res.CPU.Milliseconds(), PeakMemoryBytes: res.PeakRSS}
	// Outputs: tables become dataset versions, figures and specs become artifacts.
	bg := context.WithoutCancel(ctx)
	execInputs := append(append([]string(nil), inputIDs...), exe.Id)
	if res.Outcome == pysandbox.OK {
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
				send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Table{Table: &sandboxv1.Table{Name: f.Name, SavedAs: ref}}})
			case artifactTypes[ext] != "":
				a := &sandboxv1.ExecutionArtifact{Id: ids.New(ids.Object), Name: f.Name, ContentType: artifactTypes[ext], SizeBytes: int64(len(f.Data))}
				if _, err := s.rt.Blobs.Put(bg, ArtifactKey(exe.Id, a.Id), bytes.NewReader(f.Data), int64(len(f.Data))+1); err != nil {
					return grpcx.Internal(ctx, err, "store artifact")
				}
				exe.Artifacts = append(exe.Artifacts, a)
				_ = lineage.Record(bg, s.rt.Store, &lineagev1.Artifact{Id: a.Id, Kind: "artifact", ProjectId: req.ProjectId, Label: f.Name},
					execInputs, "python", map[string]string{"execution_id": exe.Id, "file": f.Name})
				send(&sandboxv1.ExecuteResponse{Event: &sandboxv1.ExecuteResponse_Artifact{Artifact: a}})
			}
		}
	}
	exe.Status = st
	b, _ := proto.Marshal(exe)
	_ = s.rt.Store.CreateResource(bg, storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId, State: st.Outcome.String(), Data: b})
	_ = lineage.Record(bg, s.rt.Store, &lineagev1.Artifact{Id: exe.Id, Kind: "execution", ProjectId: exe.ProjectId, Label: "Python: " + truncate(req.Code, 200)}, inputIDs, "python", map[string]string{"code": truncate(req.Code, 2000)})
	s.rt.Log.InfoContext(ctx, "execution", "id", exe.Id, "user", who.UserID, "language", "python", "outcome", res.Outcome, "wall_ms", st.WallMs,
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
	case pysandbox.MemoryLimit, pysandbox.ProcLimit:
		return sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT
	case pysandbox.OutputLimit, pysandbox.FileLimit:
		return sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT
	}
	return sandboxv1.Outcome_OUTCOME_ERROR
}

// localCSV returns a cached CSV copy of a cached Parquet version.
func (s *Server) localCSV(ctx context.Context, parquetPath string) (string, error) {
	p := strings.TrimSuffix(parquetPath, ".parquet") + ".csv"
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp := p + ".part-" + ids.New(ids.Object) + ".csv"
	if err := duck.ParquetToCSV(ctx, parquetPath, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// upload stores an output table through the ingestion service, acting as the caller.
func (s *Server) upload(ctx context.Context, who *authn.Identity, projectID, name string, data []byte) (*datasetsv1.UploadResponse, error) {
	conn, err := s.rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	actx, err := s.rt.ActAs(ctx, who.UserID, projectID)
	if err != nil {
		return nil, err
	}
	up, err := datasetsv1.NewDatasetServiceClient(conn).Upload(actx)
	if err != nil {
		return nil, err
	}
	if err := up.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: &datasetsv1.UploadMetadata{
		ProjectId: projectID, Name: name, FileName: name, SizeBytes: int64(len(data))}}}); err != nil {
		return nil, err
	}
	r := bytes.NewReader(data)
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := up.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: append([]byte(nil), buf[:n]...)}}); err != nil {
				return nil, err
			}
		}
		if err == io.EOF {
			break
		}
	}
	return up.CloseAndRecv()
}
