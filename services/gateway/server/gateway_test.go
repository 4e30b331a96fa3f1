package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/learn"
)

// backend is a small real gRPC server with JobService and DatasetService, recording the metadata
// of the calls it gets.
type backend struct {
	jobsv1.UnimplementedJobServiceServer
	datasetsv1.UnimplementedDatasetServiceServer
	mu       sync.Mutex
	md       map[string]metadata.MD // by method
	chunks   int
	maxChunk int
}

func (b *backend) record(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.md[method] = md.Copy()
}

func (b *backend) seen(method, key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v := b.md[method].Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (b *backend) GetJob(ctx context.Context, req *jobsv1.GetJobRequest) (*jobsv1.GetJobResponse, error) {
	b.record(ctx, "GetJob")
	grpc.SetHeader(ctx, metadata.Pairs("x-served-by", "test-backend"))
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "done"))
	if strings.HasPrefix(req.JobId, "missing") {
		return nil, grpcx.NotFound("job", req.JobId)
	}
	if req.JobId == "secret" {
		return nil, status.Error(codes.PermissionDenied, "you may not read this job")
	}
	return &jobsv1.GetJobResponse{Job: &jobsv1.Job{Id: req.JobId, ProjectId: "prj_1", Kind: "ingest", State: jobsv1.JobState_JOB_STATE_RUNNING, Progress: 0.5}}, nil
}

// WatchJob sends three events (the last one terminal); job "slow" waits between them.
func (b *backend) WatchJob(req *jobsv1.WatchJobRequest, s jobsv1.JobService_WatchJobServer) error {
	b.record(s.Context(), "WatchJob")
	if strings.HasPrefix(req.JobId, "missing") {
		return grpcx.NotFound("job", req.JobId)
	}
	pause := 5 * time.Millisecond
	if req.JobId == "slow" {
		pause = 150 * time.Millisecond
	}
	states := []jobsv1.JobState{jobsv1.JobState_JOB_STATE_QUEUED, jobsv1.JobState_JOB_STATE_RUNNING, jobsv1.JobState_JOB_STATE_SUCCEEDED}
	for i, st := range states {
		time.Sleep(pause)
		if err := s.Send(&jobsv1.WatchJobResponse{Event: &jobsv1.JobEvent{JobId: req.JobId, Sequence: uint64(i + 1), State: st, Progress: float64(i) / 2, Stage: fmt.Sprintf("stage %d", i+1)}}); err != nil {
			return err
		}
	}
	return nil
}

// Upload answers with the byte count and SHA-256 of the chunks it got.
func (b *backend) Upload(s datasetsv1.DatasetService_UploadServer) error {
	b.record(s.Context(), "Upload")
	first, err := s.Recv()
	if err != nil {
		return err
	}
	meta := first.GetMetadata()
	if meta == nil {
		return grpcx.InvalidArgument("metadata", "must come first")
	}
	h := sha256.New()
	var n int64
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		c := m.GetChunk()
		b.mu.Lock()
		b.chunks++
		b.maxChunk = max(b.maxChunk, len(c))
		b.mu.Unlock()
		h.Write(c)
		n += int64(len(c))
		if n > 64<<20 {
			return grpcx.ResourceExhausted("upload exceeds the limit of %d bytes", 64<<20)
		}
	}
	return s.SendAndClose(&datasetsv1.UploadResponse{DatasetId: "ds_" + meta.Name, JobId: "job_" + meta.FileName, Version: 1,
		Sha256: hex.EncodeToString(h.Sum(nil)), SizeBytes: n})
}

type fixture struct {
	be      *backend
	addr    string // backend
	grpcCC  *grpc.ClientConn
	httpURL string
	opts    Options
}

func startBackend(t *testing.T) (*backend, string) {
	t.Helper()
	be := &backend{md: map[string]metadata.MD{}}
	s := grpc.NewServer()
	jobsv1.RegisterJobServiceServer(s, be)
	datasetsv1.RegisterDatasetServiceServer(s, be)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return be, l.Addr().String()
}

// newFixture starts a backend (as ingestion), the front door and the HTTP handler in front of it.
func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	be, addr := startBackend(t)
	o := Options{Backends: map[string]string{Ingestion: addr, Profiling: closedAddr(t)}, MaxBodyBytes: 1 << 10, Heartbeat: 50 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	f := &fixture{be: be, addr: addr, opts: o}

	front, err := NewFrontDoor(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go front.Serve(l)
	t.Cleanup(front.Stop)
	if f.grpcCC, err = grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.grpcCC.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	h, err := NewHTTPHandler(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); cancel() })
	f.httpURL = hs.URL
	return f
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func authed(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok-123", "x-api-key", "key-456", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
}

func TestFrontDoor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	jobs := jobsv1.NewJobServiceClient(f.grpcCC)

	t.Run("unary with metadata", func(t *testing.T) {
		var hdr, trl metadata.MD
		resp, err := jobs.GetJob(authed(ctx), &jobsv1.GetJobRequest{JobId: "job_1"}, grpc.Header(&hdr), grpc.Trailer(&trl))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(hdr.Get("x-served-by"), trl.Get("x-trailer")) != "[test-backend] [done]" {
			t.Errorf("response metadata: header %v trailer %v", hdr, trl)
		}
		if resp.Job.Id != "job_1" || resp.Job.Progress != 0.5 {
			t.Fatalf("job = %v", resp.Job)
		}
		for k, want := range map[string]string{"authorization": "Bearer tok-123", "x-api-key": "key-456", "x-forwarded-for": "127.0.0.1"} {
			if got := f.be.seen("GetJob", k); got != want {
				t.Errorf("backend saw %s = %q, want %q", k, got, want)
			}
		}
		if !strings.HasPrefix(f.be.seen("GetJob", "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-") {
			t.Errorf("trace context not forwarded: %q", f.be.seen("GetJob", "traceparent"))
		}
	})

	t.Run("backend status with details passes through", func(t *testing.T) {
		_, err := jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: "missing_1"})
		st := status.Convert(err)
		if st.Code() != codes.NotFound || !strings.Contains(st.Message(), "missing_1") || len(st.Details()) != 1 {
			t.Fatalf("err = %v (details %v)", err, st.Details())
		}
	})

	t.Run("server stream", func(t *testing.T) {
		s, err := jobs.WatchJob(authed(ctx), &jobsv1.WatchJobRequest{JobId: "job_2"})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, m.Event.Sequence)
		}
		if fmt.Sprint(seqs) != "[1 2 3]" {
			t.Fatalf("sequences = %v", seqs)
		}
		if f.be.seen("WatchJob", "authorization") != "Bearer tok-123" {
			t.Error("authorization not forwarded on a server stream")
		}
	})

	t.Run("client stream", func(t *testing.T) {
		data := randomBytes(3<<20 + 12345)
		s, err := datasetsv1.NewDatasetServiceClient(f.grpcCC).Upload(authed(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: &datasetsv1.UploadMetadata{ProjectId: "prj_1", Name: "grpc", FileName: "a.csv"}}}); err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 512 << 10 {
			end := min(off+512<<10, len(data))
			if err := s.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: data[off:end]}}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := s.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.SizeBytes != int64(len(data)) || resp.Sha256 != sha(data) || resp.DatasetId != "ds_grpc" {
			t.Fatalf("resp = %v", resp)
		}
		if f.be.seen("Upload", "x-api-key") != "key-456" {
			t.Error("x-api-key not forwarded on a client stream")
		}
	})

	t.Run("unknown service", func(t *testing.T) {
		err := f.grpcCC.Invoke(ctx, "/vds.nothing.v1.NothingService/Do", &emptypb.Empty{}, &emptypb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "vds.jobs.v1.JobService") || !strings.Contains(st.Message(), FlightService) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("backend not configured", func(t *testing.T) {
		err := f.grpcCC.Invoke(ctx, "/vds.ml.v1.MLService/GetModel", &emptypb.Empty{}, &emptypb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "ml service") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("backend unreachable", func(t *testing.T) {
		err := f.grpcCC.Invoke(ctx, "/vds.profiling.v1.ProfilingService/GetProfile", &emptypb.Empty{}, &emptypb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "profiling service") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("own health", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(f.grpcCC).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health = %v, %v", resp, err)
		}
	})

	t.Run("backend method not implemented", func(t *testing.T) {
		_, err := jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: "x"})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestOneRequestMethods: the calls the front door forwards without helper goroutines are exactly
// those whose caller sends one message.
func TestOneRequestMethods(t *testing.T) {
	m := oneRequestMethods()
	for method, want := range map[string]bool{
		"/vds.jobs.v1.JobService/GetJob":             true,
		"/vds.jobs.v1.JobService/WatchJob":           true,  // server stream
		"/vds.sandbox.v1.SandboxService/Execute":     true,  // server stream
		"/vds.datasets.v1.DatasetService/Upload":     false, // client stream
		"/vds.nothing.v1.NothingService/Do":          false,
		"/arrow.flight.protocol.FlightService/DoPut": false,
	} {
		if m[method] != want {
			t.Errorf("%s: one request %v, want %v", method, m[method], want)
		}
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	for svc, want := range map[string]string{
		"vds.auth.v1.AuthService":                 Auth,
		"vds.datasets.v1.DatasetService":          Ingestion,
		FlightService:                             Ingestion,
		"vds.jobs.v1.JobService":                  Ingestion,
		"vds.lineage.v1.LineageService":           Ingestion,
		"vds.profiling.v1.ProfilingService":       Profiling,
		"vds.ml.v1.MLService":                     ML,
		"vds.causal.v1.CausalService":             Causal,
		"vds.sandbox.v1.SandboxService":           Sandbox,
		"vds.orchestrator.v1.OrchestratorService": Orchestrator,
		"vds.nothing.v1.X":                        "",
		"grpc.reflection.v1.ServerReflection":     "",
		"":                                        "",
	} {
		if got := Route(svc); got != want {
			t.Errorf("Route(%q) = %q, want %q", svc, got, want)
		}
	}
	if n := len(RoutedServices()); n < 10 {
		t.Errorf("RoutedServices = %v", RoutedServices())
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.CORSOrigins = []string{"https://app.example"} })

	t.Run("REST unary", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.httpURL+"/v1/jobs/job_7", nil)
		req.Header.Set("Authorization", "Bearer tok-http")
		req.Header.Set("X-Api-Key", "key-http")
		req.Header.Set("X-Sneaky", "no")
		resp, body := do(t, req)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var got struct {
			Job struct {
				ID        string  `json:"id"`
				ProjectID string  `json:"projectId"`
				State     string  `json:"state"`
				Progress  float64 `json:"progress"`
			} `json:"job"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Job.ID != "job_7" || got.Job.ProjectID != "prj_1" || got.Job.State != "JOB_STATE_RUNNING" || got.Job.Progress != 0.5 {
			t.Fatalf("body = %s", body)
		}
		if f.be.seen("GetJob", "authorization") != "Bearer tok-http" || f.be.seen("GetJob", "x-api-key") != "key-http" {
			t.Errorf("credentials not forwarded: %v", f.be.md["GetJob"])
		}
		if f.be.seen("GetJob", "x-sneaky") != "" || f.be.seen("GetJob", "grpcgateway-authorization") != "" {
			t.Errorf("unexpected metadata forwarded: %v", f.be.md["GetJob"])
		}
	})

	errCases := []struct {
		name, method, path, body string
		want                     int
		code                     codes.Code
		msg                      string
	}{
		{"not found", "GET", "/v1/jobs/missing_9", "", 404, codes.NotFound, `job "missing_9" not found`},
		{"permission denied", "GET", "/v1/jobs/secret", "", 403, codes.PermissionDenied, "may not"},
		{"backend not configured", "GET", "/v1/models/mdl_1", "", 503, codes.Unavailable, "ml service"},
		{"backend unreachable", "GET", "/v1/profiles/prf_1", "", 503, codes.Unavailable, "profiling service"},
		{"backend unimplemented", "POST", "/v1/jobs/j1:cancel", "{}", 501, codes.Unimplemented, "CancelJob"},
		{"no route", "GET", "/v1/nothing/here", "", 404, codes.NotFound, "no API route"},
		{"bad JSON", "POST", "/v1/jobs/j1:cancel", "{", 400, codes.InvalidArgument, ""},
		{"body over limit", "POST", "/v1/jobs/j1:cancel", `{"jobId":"` + strings.Repeat("x", 2000) + `"}`, 413, codes.ResourceExhausted, "1024 bytes"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, f.httpURL+c.path, body)
			resp, b := do(t, req)
			checkStatus(t, resp, b, c.want, c.code, c.msg)
		})
	}

	t.Run("chunked body over limit", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"jobId":"` + strings.Repeat("y", 4000) + `"}`))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", f.httpURL+"/v1/jobs/j1:cancel", pr)
		resp, b := do(t, req)
		checkStatus(t, resp, b, 413, codes.ResourceExhausted, "1024 bytes")
	})

	t.Run("openapi", func(t *testing.T) {
		resp, b := do(t, mustReq("GET", f.httpURL+"/openapi.json", nil))
		var doc map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || doc["paths"] == nil {
			t.Fatalf("%d %.200s", resp.StatusCode, b)
		}
		// The gateway's own routes are described too.
		for _, p := range []string{"/v1/projects/{project_id}/datasets:upload", "/v1/jobs/{job_id}/events",
			"/v1/conversations/{conversation_id}/runs", "/v1/conversations/{conversation_id}/runs/{run_id}/events", "/v1/session"} {
			if _, ok := doc["paths"].(map[string]any)[p]; !ok {
				t.Errorf("paths lack the gateway route %s", p)
			}
		}
		if _, ok := doc["paths"].(map[string]any)["/v1/jobs/{jobId}"]; !ok {
			if _, ok := doc["paths"].(map[string]any)["/v1/jobs/{job_id}"]; !ok {
				t.Errorf("paths lack the GetJob route")
			}
		}
	})

	t.Run("healthz", func(t *testing.T) {
		resp, b := do(t, mustReq("GET", f.httpURL+"/healthz", nil))
		if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	t.Run("CORS", func(t *testing.T) {
		req := mustReq("OPTIONS", f.httpURL+"/v1/jobs/j1", nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, _ := do(t, req)
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Api-Key") {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		req = mustReq("OPTIONS", f.httpURL+"/v1/jobs/j1", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, _ = do(t, req)
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("foreign preflight: %d %v", resp.StatusCode, resp.Header)
		}
		req = mustReq("GET", f.httpURL+"/v1/jobs/j1", nil)
		req.Header.Set("Origin", "https://app.example")
		resp, _ = do(t, req)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("simple request: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("REST server stream", func(t *testing.T) {
		resp, b := do(t, mustReq("GET", f.httpURL+"/v1/jobs/job_3:watch", nil))
		if resp.StatusCode != 200 || strings.Count(string(b), `"sequence"`) != 3 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.RatePerSecond = 0.5; o.Burst = 3 })
	for i := 0; i < 3; i++ {
		resp, b := do(t, mustReq("GET", f.httpURL+"/v1/jobs/j1", nil))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := do(t, mustReq("GET", f.httpURL+"/v1/jobs/j1", nil))
	checkStatus(t, resp, b, 429, codes.ResourceExhausted, "too many requests")
	// The bucket is empty (bar the refill of the few milliseconds the requests took): a token is
	// just under 2 s away at 0.5/s, and Retry-After is that delay rounded up.
	delay := retryDelay(t, b)
	if delay <= 1500*time.Millisecond || delay > 2*time.Second {
		t.Errorf("RetryInfo delay %v, want just under 2 s", delay)
	}
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2 (RetryInfo %v rounded up)", got, delay)
	}
	if resp, _ := do(t, mustReq("GET", f.httpURL+"/healthz", nil)); resp.StatusCode != 200 {
		t.Errorf("healthz is rate limited: %d", resp.StatusCode)
	}

	// On a fixed clock the delays are exact: 2 s gives Retry-After 2 (not 3), 1.5 s gives 2.
	g := &gateway{opts: Options{RatePerSecond: 0.5, Burst: 1}, limiter: newRateLimiter(0.5, 1)}
	t0 := time.Unix(1000, 0)
	now := t0
	g.limiter.now = func() time.Time { return now }
	h := g.rateLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for i, c := range []struct {
		at         time.Duration
		code       int
		delay      time.Duration
		retryAfter string
	}{{0, 204, 0, ""}, {0, 429, 2 * time.Second, "2"}, {500 * time.Millisecond, 429, 1500 * time.Millisecond, "2"}, {2 * time.Second, 204, 0, ""}} {
		now = t0.Add(c.at)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/jobs/j1", nil))
		if rec.Code != c.code {
			t.Fatalf("request %d at +%v: %d %s, want %d", i, c.at, rec.Code, rec.Body, c.code)
		}
		if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("request %d at +%v: Retry-After %q, want %q", i, c.at, got, c.retryAfter)
		}
		if c.code == 429 {
			if d := retryDelay(t, rec.Body.Bytes()); d != c.delay {
				t.Errorf("request %d at +%v: RetryInfo delay %v, want %v", i, c.at, d, c.delay)
			}
		}
	}
}

// retryDelay is the retryDelay of the RetryInfo detail of a JSON google.rpc.Status body.
func retryDelay(t *testing.T, body []byte) time.Duration {
	t.Helper()
	var st struct {
		Details []struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("429 body %s: %v", body, err)
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.RetryInfo" {
			v, err := time.ParseDuration(d.RetryDelay)
			if err != nil {
				t.Fatalf("retryDelay %q: %v", d.RetryDelay, err)
			}
			return v
		}
	}
	t.Fatalf("429 body %s has no RetryInfo", body)
	return 0
}

func TestRateLimiterRefill(t *testing.T) {
	t.Parallel()
	l := newRateLimiter(10, 2)
	now := time.Unix(1000, 0)
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow("a", now); ok != want {
			t.Fatalf("call %d: %v", i, ok)
		}
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Fatal("clients share a bucket")
	}
	if ok, _ := l.allow("a", now.Add(100*time.Millisecond)); !ok {
		t.Fatal("no refill after 100 ms at 10/s")
	}
	l.allow("c", now.Add(2*time.Minute))
	if len(l.buckets) != 1 {
		t.Fatalf("idle buckets kept: %d", len(l.buckets))
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.MaxUploadBytes = 16 << 20 })

	t.Run("streams a multi-MB file", func(t *testing.T) {
		data := randomBytes(7<<20 + 4321)
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			mw.WriteField("name", "sales")
			fw, err := mw.CreateFormFile("file", "dir/sales.csv")
			if err == nil {
				for off := 0; off < len(data) && err == nil; off += 100_000 {
					_, err = fw.Write(data[off:min(off+100_000, len(data))])
				}
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer up-tok")
		resp, b := do(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var got struct {
			DatasetID string `json:"datasetId"`
			JobID     string `json:"jobId"`
			Sha256    string `json:"sha256"`
			SizeBytes string `json:"sizeBytes"` // int64 is a JSON string in protojson
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.SizeBytes != fmt.Sprint(len(data)) || got.Sha256 != sha(data) || got.DatasetID != "ds_sales" || got.JobID != "job_sales.csv" {
			t.Fatalf("response %s", b)
		}
		f.be.mu.Lock()
		chunks, maxChunk := f.be.chunks, f.be.maxChunk
		f.be.mu.Unlock()
		if maxChunk != UploadChunkBytes || chunks != 8 {
			t.Errorf("chunks = %d, largest %d", chunks, maxChunk)
		}
		if f.be.seen("Upload", "authorization") != "Bearer up-tok" {
			t.Error("authorization not forwarded")
		}
	})

	t.Run("over the upload limit", func(t *testing.T) {
		data := randomBytes(17 << 20)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "big.csv")
		fw.Write(data)
		mw.Close()
		// Unknown length, so the limit is found while streaming.
		req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", io.MultiReader(&buf))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, b := do(t, req)
		checkStatus(t, resp, b, 413, codes.ResourceExhausted, "(--max-upload-bytes, or VDS_MAX_UPLOAD_BYTES under vds up); nothing was stored")
	})

	t.Run("body cut short", func(t *testing.T) {
		// A form whose body ends inside the file part (no closing boundary), and one that ends
		// after the file part's boundary line without the closing one: both refused, not stored
		// as if the file were whole.
		var whole bytes.Buffer
		mw := multipart.NewWriter(&whole)
		fw, _ := mw.CreateFormFile("file", "half.csv")
		fw.Write([]byte(strings.Repeat("a,b\n1,2\n", 1000)))
		mw.WriteField("name", "after")
		mw.Close()
		body := whole.Bytes()
		cutInFile := body[:len(body)/2]
		cutAfterFile := body[:bytes.Index(body, []byte("name=\"name\""))]
		for name, cut := range map[string][]byte{"inside the file": cutInFile, "after the file": cutAfterFile} {
			req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", bytes.NewReader(cut))
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, b := do(t, req)
			if resp.StatusCode != 400 {
				t.Errorf("body cut short %s: %d %s", name, resp.StatusCode, b)
				continue
			}
			checkStatus(t, resp, b, 400, codes.InvalidArgument, "closing boundary: the upload was cut short and nothing was stored")
		}
	})

	t.Run("two files", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, n := range []string{"a.csv", "b.csv"} {
			fw, _ := mw.CreateFormFile("file", n)
			fw.Write([]byte("a,b\n1,2\n"))
		}
		mw.Close()
		req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, b := do(t, req)
		checkStatus(t, resp, b, 400, codes.InvalidArgument, "was sent twice: upload one file per request; nothing was stored")
	})

	t.Run("missing file part", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("name", "x")
		mw.Close()
		req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, b := do(t, req)
		checkStatus(t, resp, b, 400, codes.InvalidArgument, "file")
	})

	t.Run("not multipart", func(t *testing.T) {
		req := mustReq("POST", f.httpURL+"/v1/projects/prj_1/datasets:upload", strings.NewReader("a,b\n1,2\n"))
		req.Header.Set("Content-Type", "text/csv")
		resp, b := do(t, req)
		checkStatus(t, resp, b, 400, codes.InvalidArgument, "multipart")
	})
}

func TestEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	t.Run("delivers events and ends with the job", func(t *testing.T) {
		req := mustReq("GET", f.httpURL+"/v1/jobs/slow/events", nil)
		req.Header.Set("Authorization", "Bearer sse-tok")
		evs, comments, status := readSSE(t, req)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if len(evs) != 4 || evs[3].event != "end" {
			t.Fatalf("events = %+v", evs)
		}
		for i, ev := range evs[:3] {
			var je struct {
				Sequence string `json:"sequence"`
				State    string `json:"state"`
			}
			if ev.event != "job" || ev.id != fmt.Sprint(i+1) || json.Unmarshal([]byte(ev.data), &je) != nil || je.Sequence != fmt.Sprint(i+1) {
				t.Fatalf("event %d = %+v", i, ev)
			}
		}
		if !strings.Contains(evs[3].data, "JOB_STATE_SUCCEEDED") {
			t.Errorf("end data = %s", evs[3].data)
		}
		if comments == 0 {
			t.Error("no heartbeat on a slow job")
		}
		if f.be.seen("WatchJob", "authorization") != "Bearer sse-tok" {
			t.Error("authorization not forwarded")
		}
	})

	t.Run("Last-Event-ID skips seen events", func(t *testing.T) {
		req := mustReq("GET", f.httpURL+"/v1/jobs/job_5/events", nil)
		req.Header.Set("Last-Event-ID", "2")
		evs, _, _ := readSSE(t, req)
		if len(evs) != 2 || evs[0].id != "3" || evs[1].event != "end" {
			t.Fatalf("events = %+v", evs)
		}
	})

	t.Run("unknown job is a 404", func(t *testing.T) {
		resp, b := do(t, mustReq("GET", f.httpURL+"/v1/jobs/missing_3/events", nil))
		checkStatus(t, resp, b, 404, codes.NotFound, "missing_3")
	})
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	if _, err := NewFrontDoor(Options{Backends: map[string]string{"nope": "127.0.0.1:1"}}); err == nil {
		t.Error("unknown backend accepted")
	}
	if _, err := NewHTTPHandler(context.Background(), Options{RatePerSecond: -1}); err == nil {
		t.Error("negative rate accepted")
	}
}

// --- helpers ---

type sseEvent struct{ id, event, data string }

func readSSE(t *testing.T, req *http.Request) ([]sseEvent, int, int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var evs []sseEvent
	comments := 0
	cur := sseEvent{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" || cur.data != "" {
				evs = append(evs, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data += line[6:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs, comments, resp.StatusCode
}

func mustReq(method, url string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		panic(err)
	}
	return req
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func checkStatus(t *testing.T, resp *http.Response, body []byte, want int, code codes.Code, msg string) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	if codes.Code(st.Code) != code || !strings.Contains(st.Message, msg) {
		t.Fatalf("error body %s, want code %v and a message with %q", body, code, msg)
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRequestBodyErrors: a REST body with a field the request does not have, or a value of the
// wrong type, is refused with 400 InvalidArgument naming the field, what it expected and (for an
// unknown field) the accepted names; the bodies the web app sends (web/src) still pass.
func TestRequestBodyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.MaxBodyBytes = 64 << 10 })
	post := func(path, body string) (*http.Response, []byte) {
		return do(t, mustReq("POST", f.httpURL+path, strings.NewReader(body)))
	}
	const train = "/v1/datasets/ds_1:train"
	bad := []struct {
		name, path, body string
		msgs             []string
	}{
		{"unknown field", train, `{"target":"y","budget":5}`,
			[]string{`unknown field "budget"`, "StartTrainingRequest", "budgetSeconds", "budgetMoney", "target"}},
		{"unknown nested field", train, `{"dataset":{"datasetId":"ds_1","versoin":2}}`,
			[]string{`unknown field "dataset.versoin"`, "datasetId", "version"}},
		{"unknown field in a list element", "/v1/conversations/cnv_1/runs", `{"text":"hi","selections":[{"field":"a","value":"b"}]}`,
			[]string{`unknown field "selections[0].value"`, "values", "chartId"}},
		{"unknown field of a hand-written route", "/v1/conversations/cnv_1/runs", `{"text":"hi","txt":"x"}`,
			[]string{`unknown field "txt"`, "selections"}},
		{"text for a number", train, `{"budgetSeconds":"abc"}`, []string{`"budgetSeconds"`, "must be a number", `"abc"`}},
		{"number for a text", train, `{"target":5}`, []string{`"target"`, "must be a string", "5"}},
		{"fraction for an integer", train, `{"cvFolds":2.5}`, []string{`"cvFolds"`, "must be an integer", "2.5"}},
		{"data after the object", train, `{"target":"y"} {"budgetSeconds":1}`, []string{"data after its JSON object"}},
		{"object for a list", train, `{"algorithms":"gbdt"}`, []string{`"algorithms"`, "must be a list", "strings"}},
		{"unknown enum value", train, `{"task":"TASK_BINRY"}`, []string{`"task"`, "TASK_BINARY", "TASK_REGRESSION"}},
		{"not JSON", train, `{"target":`, []string{"not valid JSON"}},
		{"not an object", train, `[1]`, []string{"must be a JSON object", "StartTrainingRequest"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			resp, b := post(c.path, c.body)
			for _, m := range c.msgs {
				checkStatus(t, resp, b, 400, codes.InvalidArgument, m)
			}
		})
	}

	// Well-formed bodies reach the backend (none is configured for these services: 503), in
	// protojson's camelCase or the proto names, with numbers as JSON numbers or strings.
	good := []struct{ path, body string }{
		{train, `{"dataset":{"datasetId":"ds_1","version":"2"},"target":"y","budgetSeconds":5,"budget_money":"1.5","task":"TASK_BINARY","cvFolds":3,"algorithms":["gbdt"]}`},
		// The web app's bodies (web/src/*.ts).
		{"/v1/auth:register", `{"email":"a@example.com","password":"pw","displayName":"A"}`},
		{"/v1/projects", `{"name":"p"}`},
		{"/v1/datasets/ds_1:profile", `{"dataset":{"datasetId":"ds_1"}}`},
		{"/v1/datasets/ds_1:analyze", `{"dataset":{"datasetId":"ds_1"},"target":"y","budgetSeconds":20}`},
		{"/v1/datasets/ds_1:proposeDashboard", `{"dataset":{"datasetId":"ds_1","version":"3"},"target":"y"}`},
		{"/v1/projects/prj_1/conversations", `{"title":"why?","datasets":[{"datasetId":"ds_1"}]}`},
		{"/v1/datasets/ds_1:discoverGraph", `{"dataset":{"datasetId":"ds_1"},"columns":["a","b"]}`},
		{"/v1/datasets/ds_1:estimateEffect", `{"dataset":{"datasetId":"ds_1"},"treatment":"t","outcome":"o","method":"","treatedValue":"1","graphId":"g","confounders":["c"]}`},
		{"/v1/conversations/cnv_1/runs", `{"text":"hi","selections":[{"chartId":"c1","field":"a","values":["x"],"rangeLow":0,"rangeHigh":0}]}`},
	}
	for _, c := range good {
		resp, b := post(c.path, c.body)
		checkStatus(t, resp, b, 503, codes.Unavailable, "service")
	}
}

// TestOpenAPIAlgorithms: the OpenAPI document names exactly the algorithms StartTraining accepts
// (learn.Algorithms(); the ML service refuses any other name). It once listed "logistic".
func TestOpenAPIAlgorithms(t *testing.T) {
	var doc struct {
		Definitions map[string]struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(openapiDoc(), &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for name, d := range doc.Definitions {
		p, ok := d.Properties["algorithms"]
		if !ok {
			continue
		}
		found++
		// "Restrict the search to these algorithms: a, b, c; empty means all."
		_, list, ok := strings.Cut(strings.Join(strings.Fields(p.Description), " "), "algorithms: ")
		list, _, ok2 := strings.Cut(list, ";")
		if !ok || !ok2 {
			t.Fatalf("%s.algorithms: description %q does not list the names as \"algorithms: a, b; ...\"", name, p.Description)
		}
		if got, want := strings.Split(list, ", "), learn.Algorithms(); !slices.Equal(got, want) {
			t.Errorf("%s.algorithms lists %q, learn.Algorithms() is %q", name, got, want)
		}
	}
	if found == 0 {
		t.Fatal("no definition has an algorithms property (StartTraining's body)")
	}
}

// TestFormFileName: the browser's escapes in a form's file name are undone (quote), line breaks
// become spaces, and other percent signs stay as written.
func TestFormFileName(t *testing.T) {
	for in, want := range map[string]string{
		"we%22ird.csv":    `we"ird.csv`,
		"new%0Aline.csv":  "new line.csv",
		"a%0D%0Ab.csv":    "a  b.csv",
		"100%25 done.csv": "100%25 done.csv",
		"plain.csv":       "plain.csv",
	} {
		if got := formFileName(in); got != want {
			t.Errorf("formFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTailReader: the reader passes every byte through and keeps the last 8 KiB, whatever the
// sizes of the reads.
func TestTailReader(t *testing.T) {
	data := randomBytes(100_000)
	for _, chunk := range []int{1, 100, 8 << 10, 8<<10 + 1, 32 << 10, 200_000} {
		tr := &tailReader{r: io.LimitReader(bytes.NewReader(data), int64(len(data)))}
		var got bytes.Buffer
		buf := make([]byte, chunk)
		for {
			n, err := tr.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got.Bytes(), data) || !bytes.Equal(tr.tail, data[len(data)-8<<10:]) {
			t.Errorf("reads of %d: passed %d bytes, tail %d bytes (want the last 8 KiB)", chunk, got.Len(), len(tr.tail))
		}
	}
}
