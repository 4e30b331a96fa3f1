// Package client is the small Go SDK of vds: dial the platform's gRPC front door, authenticate,
// upload a file with progress, watch a job, and read a dataset over Arrow Flight.
//
//	c, err := client.Dial(ctx, "127.0.0.1:7070", client.WithAPIKey(os.Getenv("VDS_API_KEY")))
//	if err != nil { ... }
//	defer c.Close()
//	up, err := c.UploadFile(ctx, projectID, "sales.csv", func(sent, total int64) { fmt.Println(sent, total) })
//	job, err := c.WaitJob(ctx, up.JobId, nil) // ingest done
//	rdr, err := c.ReadDataset(ctx, &datasetsv1.DatasetQuery{DatasetId: up.DatasetId, Columns: []string{"region", "revenue"}})
//	for rdr.Next() { rec := rdr.RecordBatch(); ... }
//
// See ExampleDial for a runnable version.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
)

// Client holds one connection and a stub per service.
type Client struct {
	Conn         *grpc.ClientConn
	Auth         authv1.AuthServiceClient
	Datasets     datasetsv1.DatasetServiceClient
	Jobs         jobsv1.JobServiceClient
	Lineage      lineagev1.LineageServiceClient
	Profiling    profilingv1.ProfilingServiceClient
	ML           mlv1.MLServiceClient
	Causal       causalv1.CausalServiceClient
	Sandbox      sandboxv1.SandboxServiceClient
	Orchestrator orchestratorv1.OrchestratorServiceClient
	Flight       flight.FlightServiceClient
}

type options struct {
	header, value string
	dialOpts      []grpc.DialOption
}

// Option configures Dial.
type Option func(*options)

// WithAPIKey authenticates every call with an API key.
func WithAPIKey(key string) Option {
	return func(o *options) { o.header, o.value = "x-api-key", key }
}

// WithToken authenticates every call with an access token from Login.
func WithToken(token string) Option {
	return func(o *options) { o.header, o.value = "authorization", "Bearer "+token }
}

// WithDialOptions adds gRPC dial options (for example TLS credentials).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

type perRPC struct{ header, value string }

func (p perRPC) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{p.header: p.value}, nil
}

func (perRPC) RequireTransportSecurity() bool { return false }

// Dial connects to addr (the gateway's gRPC front door, or a single service).
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	dopts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20))}
	if o.value != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(perRPC{o.header, o.value}))
	}
	dopts = append(dopts, o.dialOpts...)
	conn, err := grpc.NewClient(addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Client{
		Conn: conn, Auth: authv1.NewAuthServiceClient(conn), Datasets: datasetsv1.NewDatasetServiceClient(conn),
		Jobs: jobsv1.NewJobServiceClient(conn), Lineage: lineagev1.NewLineageServiceClient(conn),
		Profiling: profilingv1.NewProfilingServiceClient(conn), ML: mlv1.NewMLServiceClient(conn),
		Causal: causalv1.NewCausalServiceClient(conn), Sandbox: sandboxv1.NewSandboxServiceClient(conn),
		Orchestrator: orchestratorv1.NewOrchestratorServiceClient(conn), Flight: flight.NewFlightServiceClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// ChunkSize is the size of upload messages.
const ChunkSize = 1 << 20

// Upload streams r as a new dataset in projectID; progress (may be nil) is called after each chunk
// with the bytes sent and the total (size, or -1 when unknown).
func (c *Client) Upload(ctx context.Context, md *datasetsv1.UploadMetadata, r io.Reader, progress func(sent, total int64)) (*datasetsv1.UploadResponse, error) {
	stream, err := c.Datasets.Upload(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: md}}); err != nil {
		_, rerr := stream.CloseAndRecv()
		return nil, errors.Join(err, rerr)
	}
	total := md.SizeBytes
	if total == 0 {
		total = -1
	}
	buf := make([]byte, ChunkSize)
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := stream.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				if errors.Is(err, io.EOF) { // the server ended the call: its status says why
					_, err = stream.CloseAndRecv()
				}
				return nil, err
			}
			sent += int64(n)
			if progress != nil {
				progress(sent, total)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			stream.CloseSend()
			return nil, fmt.Errorf("read upload: %w", rerr)
		}
	}
	return stream.CloseAndRecv()
}

// UploadFile uploads a local file; its base name becomes the dataset's name.
func (c *Client) UploadFile(ctx context.Context, projectID, path string, progress func(sent, total int64)) (*datasetsv1.UploadResponse, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a data file", path)
	}
	// The name is metadata only; proto strings must be UTF-8, so other bytes become U+FFFD.
	name := strings.ToValidUTF8(filepath.Base(path), "\uFFFD")
	md := &datasetsv1.UploadMetadata{ProjectId: projectID, FileName: name, SizeBytes: st.Size()}
	return c.Upload(ctx, md, f, progress)
}

// JobError is returned by WaitJob for a job that failed or was cancelled.
type JobError struct{ Job *jobsv1.Job }

func (e *JobError) Error() string {
	if e.Job.State == jobsv1.JobState_JOB_STATE_CANCELLED {
		return fmt.Sprintf("job %s was cancelled", e.Job.Id)
	}
	return fmt.Sprintf("%s job %s failed: %s", e.Job.Kind, e.Job.Id, e.Job.Error)
}

// WaitJob watches a job until it ends, calling onEvent (may be nil) for each event, and returns the
// final job; a failed or cancelled job is returned with a *JobError.
func (c *Client) WaitJob(ctx context.Context, jobID string, onEvent func(*jobsv1.JobEvent)) (*jobsv1.Job, error) {
	stream, err := c.Jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: jobID})
	if err != nil {
		return nil, err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if onEvent != nil {
			onEvent(resp.Event)
		}
	}
	got, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: jobID})
	if err != nil {
		return nil, err
	}
	if got.Job.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		return got.Job, &JobError{Job: got.Job}
	}
	return got.Job, nil
}

// ReadDataset streams the rows of a query over Arrow Flight. Release the reader when done.
func (c *Client) ReadDataset(ctx context.Context, q *datasetsv1.DatasetQuery) (*flight.Reader, error) {
	return DoGet(ctx, c.Flight, q)
}

// DoGet streams the rows of a query from any Flight client (a service's connection to ingestion).
func DoGet(ctx context.Context, fc flight.FlightServiceClient, q *datasetsv1.DatasetQuery) (*flight.Reader, error) {
	ticket, err := proto.Marshal(q)
	if err != nil {
		return nil, err
	}
	stream, err := fc.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return nil, err
	}
	return flight.NewRecordReader(stream)
}
