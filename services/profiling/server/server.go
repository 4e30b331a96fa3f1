// Package server implements the profiling service: profiles of dataset versions computed once by
// jobs (reading rows over Arrow Flight) and cached, and hypotheses tested with FDR control.
package server

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/profile"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource and job kinds.
const (
	KindProfile = "profile"
	JobProfile  = "profile"
)

// JobIngest is the kind of ingestion's jobs, whose successes start automatic profiles.
const JobIngest = "ingest"

// afterIngestConsumer names the durable consumer of job events shared by the profiling replicas.
const afterIngestConsumer = "profiling-after-ingest"

// Server is the profiling service.
type Server struct {
	profilingv1.UnimplementedProfilingServiceServer
	rt      *platform.Runtime
	workers int
}

// Service is the profiling deployable.
func Service() platform.Service {
	workers := 1
	afterIngest := true
	return platform.Service{
		Name:  "profiling",
		Peers: []string{"auth", "ingestion"},
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&workers, "profile-workers", workers, "profile jobs run at once across all profiling replicas")
			fs.BoolVar(&afterIngest, "profile-after-ingest", afterIngest, "profile every dataset version when its ingest job succeeds (no target; cached like any profile)")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			s := &Server{rt: rt, workers: workers}
			profilingv1.RegisterProfilingServiceServer(srv, s)
			return func(ctx context.Context) error {
				done := make(chan struct{})
				if afterIngest {
					go func() {
						defer close(done)
						if err := rt.Queue.OnSucceeded(ctx, afterIngestConsumer, JobIngest, s.afterIngest); err != nil {
							rt.Log.ErrorContext(ctx, "automatic profiles after ingest are off", "err", err)
						}
					}()
				} else {
					close(done)
				}
				err := rt.Queue.Work(ctx, JobProfile, s.workers, s.run)
				<-done
				return err
			}, nil
		},
	}
}

// afterIngest starts the profile (no target) of the dataset version an ingest job produced, acting
// for the project's owner: the job record names the project and dataset but not the uploader. A
// version already profiled (or being profiled) is left alone (the cache key is the same).
func (s *Server) afterIngest(ctx context.Context, j *jobsv1.Job) error {
	if j.ResultId == "" || j.ProjectId == "" {
		return nil
	}
	members, err := s.rt.Store.ListMembers(ctx, j.ProjectId)
	if err != nil {
		return err
	}
	owner := ""
	best := 0
	for _, m := range members {
		if m.Role > best {
			owner, best = m.UserID, m.Role
		}
	}
	if best < storage.RoleEditor {
		return nil // nobody who could start a profile
	}
	uctx, err := s.rt.ActAs(ctx, owner, j.ProjectId)
	if err != nil {
		return err
	}
	conn, err := s.rt.Peer("ingestion")
	if err != nil {
		return err
	}
	c := datasetsv1.NewDatasetServiceClient(conn)
	d, err := c.GetDataset(grpcx.Forward(uctx), &datasetsv1.GetDatasetRequest{DatasetId: j.ResultId})
	if status.Code(err) == codes.NotFound {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	vs, err := c.ListVersions(grpcx.Forward(uctx), &datasetsv1.ListVersionsRequest{DatasetId: j.ResultId})
	if err != nil {
		return err
	}
	for _, v := range vs.Versions {
		if v.JobId != j.Id {
			continue
		}
		if v.State != datasetsv1.VersionState_VERSION_STATE_READY {
			return nil
		}
		st, err := s.start(uctx, d.Dataset, v, owner, "")
		if err == nil {
			s.rt.Log.InfoContext(ctx, "profile after ingest", "dataset_id", d.Dataset.Id, "version", v.Version, "profile_id", st.ProfileId, "cached", st.Cached)
		}
		return err
	}
	return nil
}

func cacheKey(datasetID string, version int32, target string) string {
	return fmt.Sprintf("%s.v%d|%s", datasetID, version, target)
}

func (s *Server) StartProfile(ctx context.Context, req *profilingv1.StartProfileRequest) (*profilingv1.StartProfileResponse, error) {
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id)
	if err != nil {
		return nil, err
	}
	if req.Target != "" {
		if err := platform.RequireColumn("target", ver.Columns, req.Target); err != nil {
			return nil, err
		}
	}
	return s.start(ctx, ds, ver, who.UserID, req.Target)
}

// start returns the cached profile of the version (and target) or queues its job, run for userID.
func (s *Server) start(ctx context.Context, ds *datasetsv1.Dataset, ver *datasetsv1.DatasetVersion, userID, target string) (*profilingv1.StartProfileResponse, error) {
	req := &profilingv1.StartProfileRequest{Dataset: &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}, Target: target}
	key := cacheKey(ds.Id, ver.Version, req.Target)
	if r, err := s.rt.Store.GetResourceByKey(ctx, KindProfile, ds.ProjectId, key); err == nil && r.State != jobsv1.JobState_JOB_STATE_FAILED.String() {
		p := &profilingv1.Profile{}
		_ = proto.Unmarshal(r.Data, p)
		return &profilingv1.StartProfileResponse{ProfileId: r.ID, JobId: p.JobId, Cached: true}, nil
	} else if err == nil {
		_ = s.rt.Store.DeleteResource(ctx, KindProfile, r.ID) // a failed profile is retried
	}
	p := &profilingv1.Profile{Id: ids.New(ids.Profile), Dataset: &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}, ProjectId: ds.ProjectId,
		Target: req.Target, JobId: ids.New(ids.Job), CreateTime: timestamppb.Now()}
	b, _ := proto.Marshal(p)
	if err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindProfile, ID: p.Id, ProjectID: ds.ProjectId, ParentID: ds.Id, Key: key, State: jobsv1.JobState_JOB_STATE_QUEUED.String(), Data: b}); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) { // a concurrent request made it
			return s.start(ctx, ds, ver, userID, target)
		}
		return nil, grpcx.Internal(ctx, err, "start profile")
	}
	task := &jobsv1.ProfileTask{ProfileId: p.Id, Dataset: p.Dataset, Target: req.Target, UserId: userID, ProjectId: ds.ProjectId}
	if _, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{Id: p.JobId, ProjectId: ds.ProjectId, Kind: JobProfile, ResultId: p.Id}, task); err != nil {
		return nil, grpcx.Internal(ctx, err, "queue profile")
	}
	return &profilingv1.StartProfileResponse{ProfileId: p.Id, JobId: p.JobId}, nil
}

func (s *Server) run(ctx context.Context, t *jobs.Task) error {
	task := &jobsv1.ProfileTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
	if err != nil {
		return err
	}
	if err := t.Progress(ctx, 0.05, "reading data", ""); err != nil {
		return err
	}
	f, err := s.readFrame(uctx, task.Dataset)
	if err != nil {
		return err
	}
	if err := t.Progress(ctx, 0.3, "profiling", plural.Count(f.Rows, "row")+" x "+plural.Count(len(f.Columns), "column")); err != nil {
		return err
	}
	p, err := profile.Compute(ctx, f, profile.Options{Target: task.Target})
	if err != nil {
		s.setState(context.WithoutCancel(ctx), task.ProfileId, nil, jobsv1.JobState_JOB_STATE_FAILED)
		return jobs.Permanent(err)
	}
	s.setState(ctx, task.ProfileId, p, jobsv1.JobState_JOB_STATE_SUCCEEDED)
	vid := fmt.Sprintf("%s.v%d", task.Dataset.DatasetId, task.Dataset.Version)
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: task.ProfileId, Kind: "profile", ProjectId: task.ProjectId, Label: "profile of " + vid}, []string{vid}, "profile", map[string]string{"target": task.Target})
	for _, c := range p.Charts {
		_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: c.Id, Kind: "chart", ProjectId: task.ProjectId, Label: c.Title}, []string{task.ProfileId}, "chart", map[string]string{"kind": c.Kind})
	}
	return nil
}

// readFrame reads every column of a dataset version over ingestion's Flight endpoint with
// profile.ReadFlight, sizing the columns from the version's row count. Boolean columns carry the
// file's spellings of their classes (platform.LabelBooleans), so that the profile and the findings
// name the groups as the file does ("Churn = Yes", not "Churn = 1").
func (s *Server) readFrame(ctx context.Context, ref *commonv1.DatasetRef) (*frame.Frame, error) {
	_, ver, err := s.rt.DatasetVersion(ctx, ref)
	if err != nil {
		return nil, err
	}
	conn, err := s.rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	f, err := profile.ReadFlight(ctx, conn, &datasetsv1.DatasetQuery{DatasetId: ref.DatasetId, Version: ver.Version}, ver.RowCount)
	if err != nil {
		return nil, fmt.Errorf("read %s v%d: %w", ref.DatasetId, ver.Version, err)
	}
	platform.LabelBooleans(f, ver)
	return f, nil
}

// setState stores the computed profile (keeping the identifying fields) and its state.
func (s *Server) setState(ctx context.Context, id string, computed *profilingv1.Profile, state jobsv1.JobState) {
	_, _ = s.rt.Store.UpdateResource(ctx, KindProfile, id, func(r storage.Resource) (storage.Resource, error) {
		old := &profilingv1.Profile{}
		if err := proto.Unmarshal(r.Data, old); err != nil {
			return r, err
		}
		if computed != nil {
			computed.Id, computed.Dataset, computed.ProjectId, computed.Target, computed.JobId, computed.CreateTime = old.Id, old.Dataset, old.ProjectId, old.Target, old.JobId, old.CreateTime
			old = computed
		}
		b, err := proto.Marshal(old)
		r.Data, r.State = b, state.String()
		return r, err
	})
}

func (s *Server) load(ctx context.Context, id string) (*profilingv1.Profile, storage.Resource, error) {
	if err := ids.Check(id, ids.Profile); err != nil {
		return nil, storage.Resource{}, grpcx.InvalidArgument("profile_id", err.Error())
	}
	r, err := s.rt.Store.GetResource(ctx, KindProfile, id)
	if err != nil {
		return nil, r, grpcx.FromStorage(ctx, err, "profile", id)
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, r.ProjectID, storage.RoleViewer, "profile", id); err != nil {
		return nil, r, err
	}
	p := &profilingv1.Profile{}
	return p, r, proto.Unmarshal(r.Data, p)
}

func (s *Server) GetProfile(ctx context.Context, req *profilingv1.GetProfileRequest) (*profilingv1.GetProfileResponse, error) {
	p, r, err := s.load(ctx, req.ProfileId)
	if err != nil {
		return nil, err
	}
	if r.State != jobsv1.JobState_JOB_STATE_SUCCEEDED.String() {
		return nil, grpcx.FailedPrecondition("profile %s is not ready (job %s is %s)", p.Id, p.JobId, r.State)
	}
	return &profilingv1.GetProfileResponse{Profile: p}, nil
}

func (s *Server) GenerateHypotheses(ctx context.Context, req *profilingv1.GenerateHypothesesRequest) (*profilingv1.GenerateHypothesesResponse, error) {
	p, r, err := s.load(ctx, req.ProfileId)
	if err != nil {
		return nil, err
	}
	if r.State != jobsv1.JobState_JOB_STATE_SUCCEEDED.String() {
		return nil, grpcx.FailedPrecondition("profile %s is not ready yet", p.Id)
	}
	fdr := req.Fdr
	if fdr == 0 {
		fdr = 0.05
	}
	if fdr < 0 || fdr >= 1 {
		return nil, grpcx.InvalidArgument("fdr", "must be between 0 and 1 (for example 0.05)")
	}
	target := req.Target
	if target == "" {
		target = p.Target
	}
	f, err := s.readFrame(ctx, p.Dataset)
	if err != nil {
		return nil, err
	}
	hs, fs := profile.Hypotheses(f, p, target, fdr)
	if req.MaxHypotheses > 0 && int(req.MaxHypotheses) < len(hs) {
		hs = hs[:req.MaxHypotheses]
	}
	for _, h := range fs {
		_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: h.Id, Kind: "finding", ProjectId: p.ProjectId, Label: h.Statement}, []string{p.Id}, "hypothesis test", map[string]string{"test": h.Test, "query": h.Query})
	}
	return &profilingv1.GenerateHypothesesResponse{Hypotheses: hs, Findings: fs}, nil
}
