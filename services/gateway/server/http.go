package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/services/gateway/webui"
)

// Paths served by the HTTP handler besides the REST API of proto/.
const (
	UploadPath  = "/v1/projects/{project_id}/datasets:upload"
	EventsPath  = "/v1/jobs/{job_id}/events"
	OpenAPIPath = "/openapi.json"
	HealthPath  = "/healthz"
)

// registrations bind each REST service to the backend that serves it.
var registrations = []struct {
	backend  string
	register func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error
}{
	{Auth, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return authv1.RegisterAuthServiceHandlerClient(ctx, m, authv1.NewAuthServiceClient(c))
	}},
	{Ingestion, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return datasetsv1.RegisterDatasetServiceHandlerClient(ctx, m, datasetsv1.NewDatasetServiceClient(c))
	}},
	{Ingestion, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return jobsv1.RegisterJobServiceHandlerClient(ctx, m, jobsv1.NewJobServiceClient(c))
	}},
	{Ingestion, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return lineagev1.RegisterLineageServiceHandlerClient(ctx, m, lineagev1.NewLineageServiceClient(c))
	}},
	{Profiling, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return profilingv1.RegisterProfilingServiceHandlerClient(ctx, m, profilingv1.NewProfilingServiceClient(c))
	}},
	{ML, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return mlv1.RegisterMLServiceHandlerClient(ctx, m, mlv1.NewMLServiceClient(c))
	}},
	{Causal, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return causalv1.RegisterCausalServiceHandlerClient(ctx, m, causalv1.NewCausalServiceClient(c))
	}},
	{Sandbox, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return sandboxv1.RegisterSandboxServiceHandlerClient(ctx, m, sandboxv1.NewSandboxServiceClient(c))
	}},
	{Orchestrator, func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return orchestratorv1.RegisterOrchestratorServiceHandlerClient(ctx, m, orchestratorv1.NewOrchestratorServiceClient(c))
	}},
}

type gateway struct {
	opts     Options
	ctx      context.Context
	b        *backends
	mux      *runtime.ServeMux
	json     *runtime.JSONPb
	limiter  *rateLimiter
	inflight inflight
	runs     runs // conversation messages streamed as Server-Sent Events (conversation.go)
}

// NewHTTPHandler returns the HTTP side of the gateway: the REST API of every service (grpc-gateway)
// with errors as JSON google.rpc.Status bodies, GET /openapi.json, GET /healthz, multipart uploads at
// POST /v1/projects/{project_id}/datasets:upload, job events as Server-Sent Events at
// GET /v1/jobs/{job_id}/events, browser sessions at /v1/session (cookies with CSRF protection, see
// SessionPath), the embedded web app at every other path, a request body limit, a per-client rate
// limit and CORS.
//
// The Authorization and X-Api-Key headers (and the W3C trace headers) reach the services as gRPC
// metadata. When ctx is done, event streams end, new requests get 503, and the backend connections
// close once the requests in flight have finished.
func NewHTTPHandler(ctx context.Context, o Options) (http.Handler, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	b, err := dialBackends(o.Backends)
	if err != nil {
		return nil, err
	}
	g := &gateway{opts: o, ctx: ctx, b: b,
		json: &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			// Unknown fields are refused (strictJSON): a misspelt field would otherwise be ignored.
			UnmarshalOptions: protojson.UnmarshalOptions{},
		},
	}
	g.inflight.zero = sync.NewCond(&g.inflight.mu)
	if o.RatePerSecond > 0 {
		g.limiter = newRateLimiter(o.RatePerSecond, o.Burst)
	}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: strictJSON{g.json}}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
	)
	for _, r := range registrations {
		if err := r.register(ctx, g.mux, b.conn(r.backend)); err != nil {
			b.close()
			return nil, fmt.Errorf("gateway: register REST routes of %s: %w", r.backend, err)
		}
	}

	routes := http.NewServeMux()
	routes.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, `{"status":"ok"}`)
	})
	routes.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		doc := openapiDoc()
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.Write(doc)
	})
	routes.Handle("POST "+UploadPath, g.session(http.HandlerFunc(g.upload)))
	routes.Handle("GET "+EventsPath, g.session(http.HandlerFunc(g.events)))
	routes.Handle("POST "+RunsPath, g.session(g.limitBody(http.HandlerFunc(g.startRun))))
	routes.Handle("GET "+RunEventsPath, g.session(http.HandlerFunc(g.runEvents)))
	routes.Handle("POST "+SessionPath, g.limitBody(http.HandlerFunc(g.signIn)))
	routes.Handle("DELETE "+SessionPath, g.session(http.HandlerFunc(g.signOut)))
	// A documented route asked with a method it does not take is a 405 with Allow (it fell through
	// to the API handler's 404); a server stream refused before its first message has the error body
	// of every other route.
	api := g.methodNotAllowed(g.session(g.limitBody(g.plainStreamErrors(g.mux))))
	routes.Handle("/v1/", api)
	switch {
	case o.NoWeb:
		routes.Handle("/", api)
	case o.Web != nil:
		routes.Handle("/", o.Web)
	default:
		routes.Handle("/", webui.Handler())
	}

	go func() {
		<-ctx.Done()
		g.inflight.closeAndWait()
		b.close()
	}()
	return g.serve(routes), nil
}

// serve wraps the routes: shutdown gate, access log, CORS, rate limit.
func (g *gateway) serve(routes http.Handler) http.Handler {
	limited := g.rateLimit(routes)
	withCORS := g.cors(limited)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		if !g.inflight.enter() {
			g.writeStatus(rec, r, status.New(codes.Unavailable, "the gateway is shutting down"), http.StatusServiceUnavailable)
		} else {
			defer g.inflight.leave()
			withCORS.ServeHTTP(rec, r)
		}
		if r.URL.Path == HealthPath {
			return
		}
		if g.opts.Log.Enabled(r.Context(), slog.LevelDebug) {
			g.opts.Log.DebugContext(r.Context(), "http", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "bytes", rec.bytes, "ms", time.Since(start).Milliseconds(), "client", g.clientIP(r))
		}
	})
}

// incomingHeader forwards the credential headers and the trace context; Authorization is forwarded
// by grpc-gateway itself. Nothing else a client sends becomes metadata.
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "X-Api-Key":
		return "x-api-key", true
	case "Traceparent":
		return "traceparent", true
	case "Tracestate":
		return "tracestate", true
	case "Baggage":
		return "baggage", true
	case "X-Request-Id":
		return "x-request-id", true
	}
	return "", false
}

// annotate builds the outgoing context of a hand-written route the same way grpc-gateway does for
// generated ones (credential headers, trace context, X-Forwarded-For, grpc-timeout).
func (g *gateway) annotate(r *http.Request, method, pattern string) (context.Context, error) {
	return runtime.AnnotateContext(r.Context(), g.mux, r, method, runtime.WithHTTPPathPattern(pattern))
}

// httpStatus maps a gRPC code to an HTTP status (InvalidArgument 400, Unauthenticated 401,
// PermissionDenied 403, NotFound 404, AlreadyExists 409, ResourceExhausted 429, FailedPrecondition 400,
// Unimplemented 501, Unavailable 503, DeadlineExceeded 504…).
func httpStatus(c codes.Code) int { return runtime.HTTPStatusFromCode(c) }

func (g *gateway) errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if lim := bodyLimitFrom(r.Context()); lim != nil && lim.exceeded {
		g.tooLarge(w, r, lim.limit, "--max-body-bytes")
		return
	}
	code := 0
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		code, err = hse.HTTPStatus, hse.Err
	}
	if m, ok := runtime.RPCMethod(ctx); ok && status.Code(err) == codes.Unavailable {
		svc, _, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
		if b := Route(svc); b != "" {
			g.opts.Log.WarnContext(ctx, "backend unavailable", "backend", b, "method", m, "err", err)
			err = backendError(b, err)
		}
	}
	st := status.Convert(err)
	if code == 0 {
		code = httpStatus(st.Code())
	}
	g.writeStatus(w, r, st, code)
}

func (g *gateway) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
	switch code {
	case http.StatusNotFound:
		g.writeStatus(w, r, status.Newf(codes.NotFound, "no API route for %s %s (see %s)", r.Method, r.URL.Path, OpenAPIPath), code)
	case http.StatusMethodNotAllowed:
		g.writeStatus(w, r, status.Newf(codes.Unimplemented, "method %s is not allowed on %s", r.Method, r.URL.Path), code)
	case http.StatusBadRequest:
		g.writeStatus(w, r, status.Newf(codes.InvalidArgument, "bad request path %s", r.URL.Path), code)
	default:
		g.writeStatus(w, r, status.New(codes.Internal, http.StatusText(code)), code)
	}
}

// errorDetailJSON encodes error details without null or empty placeholders (a BadRequest field
// violation has no "localizedMessage": null); success bodies keep EmitUnpopulated.
var errorDetailJSON = protojson.MarshalOptions{}

// statusJSON encodes st as a clean JSON google.rpc.Status: {"code", "message", "details"}, details
// always a list (empty when there are none) and each detail only with its set fields.
func statusJSON(st *status.Status) ([]byte, error) {
	p := st.Proto()
	details := make([]json.RawMessage, 0, len(p.GetDetails()))
	for _, d := range p.GetDetails() {
		b, err := errorDetailJSON.Marshal(d)
		if err != nil {
			return nil, err
		}
		details = append(details, b)
	}
	return json.Marshal(struct {
		Code    int32             `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}{p.GetCode(), p.GetMessage(), details})
}

// retryAfter is the wait a status asks for in its RetryInfo detail, if it has one.
func retryAfter(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// writeStatus writes st as a JSON google.rpc.Status ({"code", "message", "details"}). A status with a
// RetryInfo detail (a throttled login) also gets a Retry-After header, in whole seconds rounded up.
func (g *gateway) writeStatus(w http.ResponseWriter, r *http.Request, st *status.Status, code int) {
	body, err := statusJSON(st)
	if err != nil {
		body = []byte(`{"code":13,"message":"failed to encode the error","details":[]}`)
		code = http.StatusInternalServerError
	}
	h := w.Header()
	if d, ok := retryAfter(st); ok && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Set("X-Content-Type-Options", "nosniff")
	if st.Code() == codes.Unauthenticated {
		h.Set("Www-Authenticate", `Bearer realm="vds"`)
	}
	if code >= 500 && code != http.StatusNotImplemented {
		g.opts.Log.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", st.Code().String(), "err", st.Message())
	}
	w.WriteHeader(code)
	w.Write(body)
}

// writeProto writes a successful response as protojson.
func (g *gateway) writeProto(w http.ResponseWriter, m proto.Message) {
	body, err := g.json.Marshal(m)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (g *gateway) tooLarge(w http.ResponseWriter, r *http.Request, limit int64, flag string) {
	w.Header().Set("Connection", "close")
	g.writeStatus(w, r, status.Newf(codes.ResourceExhausted, "request body is larger than the limit of %d bytes (%s); nothing was stored", limit, config.Setting(flag)),
		http.StatusRequestEntityTooLarge)
}

// --- body limit ---

type bodyLimitKey struct{}

type bodyLimit struct {
	limit    int64
	exceeded bool
}

func bodyLimitFrom(ctx context.Context) *bodyLimit {
	l, _ := ctx.Value(bodyLimitKey{}).(*bodyLimit)
	return l
}

// limitBody refuses bodies over MaxBodyBytes with 413: at once when Content-Length says so, otherwise
// when reading passes the limit (the error handler sees the mark left here).
func (g *gateway) limitBody(next http.Handler) http.Handler {
	limit := g.opts.MaxBodyBytes
	if limit < 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			g.tooLarge(w, r, limit, "--max-body-bytes")
			return
		}
		st := &bodyLimit{limit: limit}
		r = r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, st))
		r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), st: st}
		next.ServeHTTP(w, r)
	})
}

type limitedBody struct {
	io.ReadCloser
	st *bodyLimit
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		l.st.exceeded = true
	}
	return n, err
}

// --- CORS ---

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, X-Api-Key, X-CSRF-Token, Last-Event-ID, Traceparent, Tracestate, Grpc-Timeout, X-Request-Id"
)

func (g *gateway) cors(next http.Handler) http.Handler {
	if len(g.opts.CORSOrigins) == 0 {
		return next
	}
	any := false
	allowed := map[string]bool{}
	for _, o := range g.opts.CORSOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			any = true
		}
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		if !any {
			h.Add("Vary", "Origin")
		}
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !any && !allowed[origin] {
			if preflight {
				g.writeStatus(w, r, status.Newf(codes.PermissionDenied, "origin %s is not allowed (%s)", origin, config.Setting("cors-origins")), http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r) // no CORS headers: the browser keeps the response from the page
			return
		}
		if any {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// --- rate limit ---

func (g *gateway) rateLimit(next http.Handler) http.Handler {
	if g.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath {
			next.ServeHTTP(w, r)
			return
		}
		if ok, wait := g.limiter.allow(g.clientIP(r), g.limiter.now()); !ok {
			// writeStatus sets Retry-After from the RetryInfo delay (whole seconds rounded up).
			st := status.Newf(codes.ResourceExhausted,
				"too many requests: the limit is %g per second per client (burst %d); retry later", g.opts.RatePerSecond, g.opts.Burst)
			if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
				st = d // the wait in the body too, for clients that read it there
			}
			g.writeStatus(w, r, st, http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *gateway) clientIP(r *http.Request) string {
	if g.opts.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := strings.TrimSpace(first); ip != "" {
				return ip
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// --- plumbing ---

// inflight counts requests so backend connections close only after the last one finished.
type inflight struct {
	mu     sync.Mutex
	zero   *sync.Cond
	n      int
	closed bool
}

func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.n++
	return true
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 {
		f.zero.Broadcast()
	}
}

func (f *inflight) closeAndWait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for f.n > 0 {
		f.zero.Wait()
	}
}

// recorder notes the status and size of a response; Unwrap keeps http.ResponseController (Flush)
// working through it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
