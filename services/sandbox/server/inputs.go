package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/storage"
)

// input is one requested dataset, resolved to an exact version of the request's project and a
// cached local copy of its Parquet file.
type input struct {
	alias   string
	id      string // "<dataset>.v<version>", the lineage node of the version
	parquet string
	ref     *commonv1.DatasetRef
}

// resolveInputs checks the aliases (defaults "data", "data2", ...) and resolves every input at once.
// A dataset of another project is NotFound, one without a ready version FailedPrecondition, and a
// dataset the caller may not read whatever the ingestion service says (it checks the caller).
func (s *Server) resolveInputs(ctx context.Context, req *sandboxv1.ExecuteRequest) ([]input, error) {
	out := make([]input, len(req.Inputs))
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
			return nil, grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), "must be a plain name (letters, digits, underscore)")
		}
		if seen[alias] {
			return nil, grpcx.InvalidArgument(fmt.Sprintf("inputs[%d].alias", i), fmt.Sprintf("%q is used twice", alias))
		}
		seen[alias] = true
		out[i].alias = alias
	}
	errs := make([]error, len(out))
	var wg sync.WaitGroup
	for i, in := range req.Inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ver, err := s.version(ctx, req.ProjectId, in.Dataset)
			if err != nil {
				errs[i] = err
				return
			}
			path, err := s.local(ctx, ver.DatasetId, ver.Version)
			if err != nil {
				errs[i] = grpcx.Internal(ctx, err, "read dataset")
				return
			}
			out[i].id = fmt.Sprintf("%s.v%d", ver.DatasetId, ver.Version)
			out[i].parquet = path
			out[i].ref = &commonv1.DatasetRef{DatasetId: ver.DatasetId, Version: ver.Version}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, in := range req.Inputs {
		in.Alias, in.Dataset = out[i].alias, out[i].ref
	}
	return out, nil
}

// versionTTL is how long a ready version, once resolved through the ingestion service for a
// project, is reused for that project's next requests without asking again. Versions are immutable,
// so what can change in that time is only the dataset's deletion: a deleted dataset can still be
// queried for at most this long (by members of its project, whose access is checked on every
// request before the inputs are resolved).
const versionTTL = 2 * time.Second

// versionCache remembers ready versions resolved through the ingestion service, per project.
type versionCache struct {
	mu sync.Mutex
	m  map[string]cachedVersion
}

type cachedVersion struct {
	ver *datasetsv1.DatasetVersion
	at  time.Time
}

func versionKey(projectID, datasetID string, v int32) string {
	return fmt.Sprintf("%s/%s/%d", projectID, datasetID, v)
}

func (c *versionCache) get(key string, now time.Time) *datasetsv1.DatasetVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil
	}
	if now.Sub(e.at) >= versionTTL || now.Before(e.at) {
		delete(c.m, key)
		return nil
	}
	return e.ver
}

func (c *versionCache) put(key string, ver *datasetsv1.DatasetVersion, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedVersion{}
	}
	if len(c.m) >= 1024 {
		for k, e := range c.m {
			if now.Sub(e.at) >= versionTTL {
				delete(c.m, k)
			}
		}
		if len(c.m) >= 1024 {
			clear(c.m)
		}
	}
	c.m[key] = cachedVersion{ver: ver, at: now}
}

// version resolves one reference to a ready version of a dataset of the project. With an explicit
// version, the dataset and the version are looked up at the same time, or taken from the versions
// this project resolved in the last versionTTL (the caller's access to the project was checked by
// Execute for this request already, and the ingestion service grants no more than that: viewer of
// the dataset's project).
func (s *Server) version(ctx context.Context, projectID string, ref *commonv1.DatasetRef) (*datasetsv1.DatasetVersion, error) {
	if ref != nil && ref.DatasetId != "" && ref.Version != 0 {
		key := versionKey(projectID, ref.DatasetId, ref.Version)
		if v := s.versions.get(key, time.Now()); v != nil {
			return v, nil
		}
		v, err := s.lookupVersion(ctx, projectID, ref)
		if err == nil {
			s.versions.put(key, v, time.Now())
		}
		return v, err
	}
	return s.lookupVersion(ctx, projectID, ref)
}

// lookupVersion asks the ingestion service, as the caller.
func (s *Server) lookupVersion(ctx context.Context, projectID string, ref *commonv1.DatasetRef) (*datasetsv1.DatasetVersion, error) {
	if ref == nil || ref.DatasetId == "" || ref.Version == 0 {
		ds, ver, err := s.rt.DatasetVersion(ctx, ref)
		if err != nil {
			return nil, err
		}
		if ds.ProjectId != projectID {
			return nil, grpcx.NotFound("dataset", ds.Id)
		}
		return ver, nil
	}
	conn, err := s.rt.Peer("ingestion")
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	c := datasetsv1.NewDatasetServiceClient(conn)
	var v *datasetsv1.GetVersionResponse
	var verr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, verr = c.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: ref.DatasetId, Version: ref.Version})
	}()
	d, err := c.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: ref.DatasetId})
	<-done
	if err != nil {
		return nil, err
	}
	if d.Dataset.ProjectId != projectID {
		return nil, grpcx.NotFound("dataset", d.Dataset.Id)
	}
	if verr != nil {
		return nil, verr
	}
	if v.Version.State != datasetsv1.VersionState_VERSION_STATE_READY {
		return nil, grpcx.FailedPrecondition("version %d of dataset %s is not ready (%s)", ref.Version, ref.DatasetId, v.Version.State)
	}
	return v.Version, nil
}

// store writes the execution record (read back by GetExecution).
func (s *Server) store(ctx context.Context, exe *sandboxv1.Execution) error {
	b, err := proto.Marshal(exe)
	if err != nil {
		return err
	}
	return s.rt.Store.CreateResource(context.WithoutCancel(ctx), storage.Resource{Kind: KindExecution, ID: exe.Id, ProjectID: exe.ProjectId,
		State: exe.GetStatus().GetOutcome().String(), Data: b})
}

// refuse records a request that was refused before any code ran: who, the code, the inputs as far
// as they were resolved, the limits asked for, and the refusal (its gRPC code and message). The
// execution ID goes back to the caller in the "vds-execution-id" trailer. A caller who is not a
// member of the project gets no record there (a stranger cannot write into a project); the refusal
// is still logged.
func (s *Server) refuse(ctx context.Context, stream interface{ SetTrailer(metadata.MD) }, exe *sandboxv1.Execution, start time.Time, member bool, err error) {
	st := status.Convert(err)
	exe.Status = &sandboxv1.Status{Outcome: sandboxv1.Outcome_OUTCOME_REFUSED, Message: st.Message(), WallMs: time.Since(start).Milliseconds(), RefusedCode: st.Code().String()}
	if st.Code() == codes.Internal || st.Code() == codes.Unavailable || st.Code() == codes.Unknown {
		exe.Status.Outcome = sandboxv1.Outcome_OUTCOME_ERROR
	}
	recorded := false
	if member {
		if serr := s.store(ctx, exe); serr == nil {
			recorded = true
			stream.SetTrailer(metadata.Pairs("vds-execution-id", exe.Id))
		} else {
			s.rt.Log.WarnContext(ctx, "execution record", "id", exe.Id, "err", serr)
		}
	}
	s.rt.Log.InfoContext(ctx, "execution", "id", exe.Id, "user", exe.UserId, "project", exe.ProjectId, "language", exe.Language.String(),
		"outcome", exe.Status.Outcome.String(), "refused", exe.Status.RefusedCode, "message", exe.Status.Message, "recorded", recorded)
}
