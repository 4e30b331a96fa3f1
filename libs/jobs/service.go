package jobs

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/storage"
)

// Service serves vds.jobs.v1.JobService over the shared job records; every service registers it.
type Service struct {
	jobsv1.UnimplementedJobServiceServer
	Q     *Queue
	Store storage.Storage
	// Stopping, when closed, ends the watches in progress with Unavailable (the serving server is
	// stopping: its drain need not wait for them, and the watcher knows to watch again).
	Stopping <-chan struct{}
}

func (s *Service) authorized(ctx context.Context, id string, role int) (*jobsv1.Job, error) {
	if id == "" {
		return nil, grpcx.InvalidArgument("job_id", "is required")
	}
	r, err := s.Store.GetResource(ctx, Kind, id)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "job", id)
	}
	if _, err := grpcx.Authorize(ctx, s.Store, r.ProjectID, role, "job", id); err != nil {
		return nil, err
	}
	j := &jobsv1.Job{}
	return j, proto.Unmarshal(r.Data, j)
}

func (s *Service) GetJob(ctx context.Context, req *jobsv1.GetJobRequest) (*jobsv1.GetJobResponse, error) {
	j, err := s.authorized(ctx, req.JobId, 1)
	if err != nil {
		return nil, err
	}
	return &jobsv1.GetJobResponse{Job: j}, nil
}

func (s *Service) ListJobs(ctx context.Context, req *jobsv1.ListJobsRequest) (*jobsv1.ListJobsResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.Store, req.ProjectId, 1, "project", req.ProjectId); err != nil {
		return nil, err
	}
	size := int(req.PageSize)
	if size <= 0 || size > 200 {
		size = 50
	}
	rs, err := s.Store.ListResources(ctx, storage.ListQuery{Kind: Kind, ProjectID: req.ProjectId, Limit: size, BeforeID: req.PageToken})
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list jobs")
	}
	out := &jobsv1.ListJobsResponse{}
	for _, r := range rs {
		j := &jobsv1.Job{}
		if proto.Unmarshal(r.Data, j) == nil {
			out.Jobs = append(out.Jobs, j)
		}
	}
	if len(rs) == size {
		out.NextPageToken = rs[len(rs)-1].ID
	}
	return out, nil
}

func (s *Service) WatchJob(req *jobsv1.WatchJobRequest, stream jobsv1.JobService_WatchJobServer) error {
	if _, err := s.authorized(stream.Context(), req.JobId, 1); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	if s.Stopping != nil {
		go func() {
			select {
			case <-s.Stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	err := s.Q.Watch(ctx, req.JobId, func(ev *jobsv1.JobEvent) error {
		return stream.Send(&jobsv1.WatchJobResponse{Event: ev})
	})
	if err != nil && stream.Context().Err() == nil && s.stopping() {
		return grpcx.Stopping("watching job %s stopped: the service is stopping; the job goes on: watch it again", req.JobId)
	}
	return watchError(stream.Context(), req.JobId, err)
}

// stopping reports whether Stopping is closed (never, when it is nil).
func (s *Service) stopping() bool {
	select {
	case <-s.Stopping:
		return true
	default:
		return false
	}
}

// watchError gives a watch that ended without a status one: the caller's own end (cancelled, or its
// deadline), else Unavailable (the service is stopping, or lost NATS), which says the job goes on.
// Before, such an end was Unknown, logged as an error at every shutdown with a watcher.
func watchError(ctx context.Context, id string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Errorf(codes.Unavailable, "watching job %s stopped (%v); the job goes on: watch it again", id, err)
}

func (s *Service) CancelJob(ctx context.Context, req *jobsv1.CancelJobRequest) (*jobsv1.CancelJobResponse, error) {
	if _, err := s.authorized(ctx, req.JobId, 2); err != nil {
		return nil, err
	}
	j, err := s.Q.Cancel(ctx, req.JobId)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "cancel job")
	}
	return &jobsv1.CancelJobResponse{Job: j}, nil
}
