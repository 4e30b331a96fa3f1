//go:build duckdb_arrow

package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/natsembed"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/libs/storage"
)

// env is one ingestion service over real loopback gRPC, with embedded NATS, SQLite and a file
// object store, and two users: the owner of project and a stranger with a project of their own.
type env struct {
	t        testing.TB
	home     string
	natsURL  string
	rt       *platform.Runtime
	s        *Server
	conn     *grpc.ClientConn
	ds       datasetsv1.DatasetServiceClient
	fl       flight.FlightServiceClient
	project  string
	owner    context.Context // outgoing calls as the project's owner
	stranger context.Context // outgoing calls as a user of another project
}

const testAckWait = 6 * time.Second

func newEnv(t testing.TB, cfg Config, startWorker bool) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	home := t.TempDir()
	ns, err := natsembed.Start(filepath.Join(home, "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	rt, err := platform.Open(ctx, "ingestion", platform.Config{Home: home, NatsURL: ns.URL()}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	rt.Queue.AckWait = testAckWait
	if cfg.DuckThreads == 0 {
		cfg.DuckThreads = 1
	}
	if cfg.DuckMemory == "" {
		cfg.DuckMemory = "512MB"
	}
	s, err := New(rt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := rt.NewServer()
	datasetsv1.RegisterDatasetServiceServer(srv, s)
	flight.RegisterFlightServiceServer(srv.Server, s.Flight())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	if startWorker {
		go func() { _ = s.Run(ctx) }()
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e := &env{t: t, home: home, natsURL: ns.URL(), rt: rt, s: s, conn: conn,
		ds: datasetsv1.NewDatasetServiceClient(conn), fl: flight.NewFlightServiceClient(conn)}
	e.project, e.owner = e.user(ctx)
	_, e.stranger = e.user(ctx)
	return e
}

// testLog discards the service log unless VDS_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("VDS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *env) startWorker(ctx context.Context) {
	go func() { _ = e.s.Run(ctx) }()
}

// user makes a user owning a new project and returns the project and a context acting as them.
func (e *env) user(ctx context.Context) (string, context.Context) {
	e.t.Helper()
	uid, pid := ids.New(ids.User), ids.New(ids.Project)
	if err := e.rt.Store.CreateUser(ctx, storage.User{ID: uid, Email: uid + "@example.test", DisplayName: "u", CreatedAt: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.rt.Store.CreateProject(ctx, storage.Project{ID: pid, Name: "p", CreatedBy: uid, CreatedAt: time.Now()},
		storage.Member{ProjectID: pid, UserID: uid, Role: storage.RoleOwner, CreatedAt: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	c, err := grpcx.AsUser(ctx, e.rt.MeshKey, "test", uid, pid)
	if err != nil {
		e.t.Fatal(err)
	}
	return pid, grpcx.Forward(c)
}

// upload streams path in 256 KiB chunks.
func (e *env) upload(ctx context.Context, path string, md *datasetsv1.UploadMetadata) (*datasetsv1.UploadResponse, error) {
	st, err := e.ds.Upload(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: md}}); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if err := st.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: slices.Clone(buf[:n])}}); err != nil {
				break // the server ended the call; CloseAndRecv has its status
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	return st.CloseAndRecv()
}

func (e *env) wait(jobID string) *jobsv1.Job {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := e.rt.Queue.Wait(ctx, jobID)
	if err != nil {
		e.t.Fatalf("wait for job %s: %v", jobID, err)
	}
	return j
}

// objects lists every object in the store.
func (e *env) objects() []string {
	e.t.Helper()
	keys, err := e.rt.Blobs.List(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

func (e *env) workDirs() []string {
	m, _ := filepath.Glob(filepath.Join(e.s.cache, "ingest-*"))
	return m
}

func TestUploadIngestAndFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, true)
	ctx := e.owner
	resp, err := e.upload(ctx, shareddata.Path(t, "tabular/telco_churn.csv"), &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "../../etc/telco churn.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if j := e.wait(resp.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job = %v", j)
	}
	v, err := e.ds.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: resp.DatasetId})
	if err != nil {
		t.Fatal(err)
	}
	ver := v.Version
	if ver.State != datasetsv1.VersionState_VERSION_STATE_READY || ver.RowCount != 7043 || len(ver.Columns) != 21 {
		t.Fatalf("version = %v %d x %d", ver.State, ver.RowCount, len(ver.Columns))
	}
	if ver.Origin.FileName != "telco churn.csv" || ver.Origin.SourceSha256 != resp.Sha256 {
		t.Errorf("origin = %v", ver.Origin)
	}
	var churn *datasetsv1.BooleanLabels
	for _, l := range ver.ReadRules.BooleanLabels {
		if l.Column == "Churn" {
			churn = l
		}
	}
	if churn == nil || churn.TrueLabel != "Yes" || churn.FalseLabel != "No" {
		t.Errorf("Churn boolean labels = %v", churn)
	}
	// Objects are named by ID only.
	for _, k := range e.objects() {
		if strings.Contains(k, "telco") || strings.Contains(k, "..") {
			t.Errorf("object key %q uses the file name", k)
		}
	}
	// Same bytes again: recognised, no new version.
	again, err := e.upload(ctx, shareddata.Path(t, "tabular/telco_churn.csv"), &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "x.csv"})
	if err != nil || !again.Duplicate || again.DatasetId != resp.DatasetId {
		t.Errorf("re-upload = %v, %v", again, err)
	}

	// GetFlightInfo + DoGet with projection, filter and limit.
	q := &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Columns: []string{"tenure", "Churn"},
		Filters: []*datasetsv1.RowFilter{{Column: "tenure", Op: "ge", Value: "70"}}, Limit: 50}
	cmd, _ := proto.Marshal(q)
	info, err := e.fl.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd})
	if err != nil {
		t.Fatal(err)
	}
	schema, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %s %d", schema.Field(0).Name, schema.Field(1).Name, schema.NumFields()); got != "tenure Churn 2" {
		t.Errorf("schema = %v", schema)
	}
	if schema.Field(1).Type.ID() != arrow.BOOL {
		t.Errorf("Churn type = %v", schema.Field(1).Type)
	}
	st, err := e.fl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := flight.NewRecordReader(st)
	if err != nil {
		t.Fatal(err)
	}
	rows, minTenure := 0, int64(1<<62)
	for rdr.Next() {
		rec := rdr.RecordBatch()
		c := rec.Column(0).(*array.Int64)
		for i := 0; i < c.Len(); i++ {
			minTenure = min(minTenure, c.Value(i))
		}
		rows += int(rec.NumRows())
	}
	rdr.Release()
	if rows != 50 || minTenure < 70 {
		t.Errorf("DoGet rows = %d, min tenure %d; want 50 rows with tenure >= 70", rows, minTenure)
	}
	// A filter that matches nothing: an empty stream, not an error. (telco: tenure is 0..72)
	q2 := &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Columns: []string{"tenure"}, Filters: []*datasetsv1.RowFilter{{Column: "tenure", Op: "gt", Value: "72"}}}
	if n := countRows(t, ctx, e.fl, q2); n != 0 {
		t.Errorf("tenure > 72 rows = %d", n)
	}
	q3 := &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Columns: []string{"Churn"}, Filters: []*datasetsv1.RowFilter{{Column: "Churn", Op: "eq", Value: "true"}}}
	if n := countRows(t, ctx, e.fl, q3); n != 1869 {
		t.Errorf("churners over Flight = %d, want 1869", n)
	}

	// Authorization: a stranger sees NotFound everywhere, an unknown column is InvalidArgument.
	for name, call := range map[string]func() error{
		"GetDataset": func() error {
			_, err := e.ds.GetDataset(e.stranger, &datasetsv1.GetDatasetRequest{DatasetId: resp.DatasetId})
			return err
		},
		"GetFlightInfo": func() error {
			_, err := e.fl.GetFlightInfo(e.stranger, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd})
			return err
		},
		"DoGet": func() error {
			_, err := client.DoGet(e.stranger, e.fl, q)
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Errorf("%s as a stranger: %v, want NotFound", name, err)
		}
	}
	bad, _ := proto.Marshal(&datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Columns: []string{"nope"}})
	if _, err := e.fl.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown column: %v, want InvalidArgument", err)
	}
	if _, err := e.fl.GetFlightInfo(context.Background(), &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no credential: %v, want Unauthenticated", err)
	}
}

func countRows(t testing.TB, ctx context.Context, fl flight.FlightServiceClient, q *datasetsv1.DatasetQuery) int64 {
	t.Helper()
	rdr, err := client.DoGet(ctx, fl, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// doPut sends batches of (n int64, s string) rows over Flight DoPut.
func doPut(ctx context.Context, fl flight.FlightServiceClient, cmd *datasetsv1.FlightPutCommand, batches, rowsPer int) (*datasetsv1.UploadResponse, error) {
	st, err := fl.DoPut(ctx)
	if err != nil {
		return nil, err
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	w := flight.NewRecordWriter(st, ipc.WithSchema(schema))
	b, _ := proto.Marshal(cmd)
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: b})
	for k := 0; k < batches; k++ {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < rowsPer; i++ {
			rb.Field(0).(*array.Int64Builder).Append(int64(k*rowsPer + i))
			if i%100 == 0 {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("v%d", i%7))
			}
		}
		rec := rb.NewRecordBatch()
		werr := w.Write(rec)
		rec.Release()
		rb.Release()
		if werr != nil {
			break // the server ended the call; Recv has the status
		}
	}
	w.Close()
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	res, err := st.Recv()
	if err != nil {
		return nil, err
	}
	out := &datasetsv1.UploadResponse{}
	return out, proto.Unmarshal(res.AppMetadata, out)
}

func TestFlightDoPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxUploadBytes: 4 << 20}, true)
	resp, err := doPut(e.owner, e.fl, &datasetsv1.FlightPutCommand{ProjectId: e.project, Name: "from arrow"}, 3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if j := e.wait(resp.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job = %v", j)
	}
	d, err := e.ds.GetDataset(e.owner, &datasetsv1.GetDatasetRequest{DatasetId: resp.DatasetId})
	if err != nil {
		t.Fatal(err)
	}
	ver := d.Dataset.Current
	if d.Dataset.Name != "from arrow" || ver.RowCount != 3000 || len(ver.Columns) != 2 || ver.Origin.Kind != "flight_put" || ver.ReadRules.Format != "arrow" {
		t.Fatalf("dataset = %v", d.Dataset)
	}
	if ver.Columns[1].MissingCount != 30 {
		t.Errorf("s missing = %d, want 30", ver.Columns[1].MissingCount)
	}
	// Reading back what was put, with a filter.
	q := &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Filters: []*datasetsv1.RowFilter{{Column: "n", Op: "lt", Value: "1234"}}}
	if n := countRows(t, e.owner, e.fl, q); n != 1234 {
		t.Errorf("n < 1234 rows = %d", n)
	}
	// A second put into the same dataset is version 2.
	r2, err := doPut(e.owner, e.fl, &datasetsv1.FlightPutCommand{ProjectId: e.project, DatasetId: resp.DatasetId}, 1, 10)
	if err != nil || r2.Version != 2 || r2.DatasetId != resp.DatasetId {
		t.Fatalf("second put = %v, %v", r2, err)
	}
	e.wait(r2.JobId)

	before := e.objects()
	for _, c := range []struct {
		name string
		ctx  context.Context
		cmd  *datasetsv1.FlightPutCommand
		rows int
		code codes.Code
		msg  string
	}{
		{"stranger", e.stranger, &datasetsv1.FlightPutCommand{ProjectId: e.project, Name: "x"}, 10, codes.NotFound, "not found"},
		{"stranger's dataset", e.stranger, &datasetsv1.FlightPutCommand{ProjectId: e.project, DatasetId: resp.DatasetId}, 10, codes.NotFound, "not found"},
		{"no name", e.owner, &datasetsv1.FlightPutCommand{ProjectId: e.project}, 10, codes.InvalidArgument, "name"},
		{"over the limit", e.owner, &datasetsv1.FlightPutCommand{ProjectId: e.project, Name: "big"}, 200_000, codes.ResourceExhausted, "4194304 bytes"},
	} {
		_, err := doPut(c.ctx, e.fl, c.cmd, 3, c.rows)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.msg) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.code, c.msg)
		}
	}
	if after := e.objects(); !slices.Equal(before, after) {
		t.Errorf("refused puts left objects: before %v after %v", before, after)
	}
}

// TestRefusedUploads: over the size limit, empty and header-only files. Each is refused with a
// clear message and leaves no object and no readable (or half-written) version behind.
func TestRefusedUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxUploadBytes: 100_000}, true)
	ctx := e.owner
	big := filepath.Join(t.TempDir(), "big.csv")
	f, _ := os.Create(big)
	w := bufio.NewWriter(f)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(w, "%d,%d\n", i, i*i)
	}
	w.Flush()
	f.Close()
	for _, declared := range []int64{0, 300_000} {
		_, err := e.upload(ctx, big, &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "big.csv", SizeBytes: declared})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "100000 bytes") {
			t.Errorf("declared %d: err = %v, want ResourceExhausted naming 100000 bytes", declared, err)
		}
	}
	// The message names the file the user sent (no stray "file: " prefix); the field is in the details.
	_, err := e.upload(ctx, shareddata.Path(t, "messy/empty.csv"), &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "empty.csv"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != "empty.csv is empty (0 bytes): nothing to ingest" {
		t.Errorf("empty.csv: %v, want InvalidArgument \"empty.csv is empty (0 bytes): nothing to ingest\"", err)
	} else if d := st.Details(); len(d) != 1 || !isFileViolation(d[0]) {
		t.Errorf("empty.csv: details %v, want a BadRequest on field file", d)
	}
	if objs := e.objects(); len(objs) != 0 {
		t.Errorf("objects left by refused uploads: %v", objs)
	}
	if l, err := e.ds.ListDatasets(ctx, &datasetsv1.ListDatasetsRequest{ProjectId: e.project}); err != nil || len(l.Datasets) != 0 {
		t.Errorf("datasets after refused uploads = %v, %v", l, err)
	}

	// header_only.csv is stored, then its ingest fails clearly: no Parquet, no raw bytes kept.
	resp, err := e.upload(ctx, shareddata.Path(t, "messy/header_only.csv"), &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "header_only.csv"})
	if err != nil {
		t.Fatal(err)
	}
	j := e.wait(resp.JobId)
	if j.State != jobsv1.JobState_JOB_STATE_FAILED || !strings.Contains(j.Error, "no rows") {
		t.Errorf("job = %v %q, want failed with 'no rows'", j.State, j.Error)
	}
	v, err := e.ds.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: resp.DatasetId, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version.State != datasetsv1.VersionState_VERSION_STATE_FAILED || !strings.Contains(v.Version.Error, "no rows") || v.Version.RowCount != 0 || v.Version.ParquetSha256 != "" {
		t.Errorf("version = %v", v.Version)
	}
	if _, err := client.DoGet(ctx, e.fl, &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("DoGet of the failed dataset: %v, want FailedPrecondition naming 'no rows'", err)
	}
	if objs := e.objects(); len(objs) != 0 {
		t.Errorf("objects left by the failed ingest: %v", objs)
	}
	if d := e.workDirs(); len(d) != 0 {
		t.Errorf("scratch folders left: %v", d)
	}
}

// The child process of TestKilledWorker: an ingestion worker on the parent's home and NATS.
func TestMain(m *testing.M) {
	if spec := os.Getenv("VDS_TEST_INGEST_WORKER"); spec != "" {
		home, url, _ := strings.Cut(spec, "|")
		ctx := context.Background()
		rt, err := platform.Open(ctx, "ingestion", platform.Config{Home: home, NatsURL: url}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		rt.Queue.AckWait = testAckWait
		s, err := New(rt, Config{DuckThreads: 1, DuckMemory: "512MB"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_ = s.Run(ctx) // until killed
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKilledWorker kills (SIGKILL) an ingestion worker process in the middle of a conversion. The
// job is redelivered to another worker and completes once: one ready version, the raw object and
// that version's Parquet object only, and no scratch files of the dead worker.
func TestKilledWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, false)
	src := filepath.Join(t.TempDir(), "big.csv")
	f, _ := os.Create(src)
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,amount,label,day")
	for i := 0; i < 600_000; i++ {
		fmt.Fprintf(w, "%d,%d.%02d,cat%d,2024-%02d-%02d\n", i, i%9973, i%100, i%13, 1+i%12, 1+i%28)
	}
	w.Flush()
	f.Close()

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "VDS_TEST_INGEST_WORKER="+e.home+"|"+e.natsURL)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_, _ = child.Process.Wait()
		}
	})
	resp, err := e.upload(e.owner, src, &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the child is converting, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := e.rt.Queue.Get(context.Background(), resp.JobId)
		if err != nil {
			t.Fatal(err)
		}
		if j.Stage == "converting" && j.Progress > 0.1 {
			break
		}
		if jobs := j.State; jobs != jobsv1.JobState_JOB_STATE_QUEUED && jobs != jobsv1.JobState_JOB_STATE_RUNNING {
			t.Fatalf("job finished before the kill: %v", j)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never started converting: %v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = child.Process.Wait()
	killed = true
	v, err := e.ds.GetVersion(e.owner, &datasetsv1.GetVersionRequest{DatasetId: resp.DatasetId, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version.State != datasetsv1.VersionState_VERSION_STATE_PENDING {
		t.Fatalf("version after the kill = %v, want pending (the kill came too late to test anything)", v.Version.State)
	}
	if len(e.workDirs()) == 0 {
		t.Fatal("the killed worker left no scratch folder: it was not mid-ingest")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.startWorker(ctx)
	j := e.wait(resp.JobId)
	if j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED || j.Attempts != 2 {
		t.Fatalf("job = %v after %d attempts, want succeeded on the 2nd", j.State, j.Attempts)
	}
	vs, err := e.ds.ListVersions(e.owner, &datasetsv1.ListVersionsRequest{DatasetId: resp.DatasetId})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 1 || vs.Versions[0].State != datasetsv1.VersionState_VERSION_STATE_READY || vs.Versions[0].RowCount != 600_000 {
		t.Fatalf("versions = %v", vs.Versions)
	}
	want := []string{platform.ParquetKey(resp.DatasetId, 1), rawKey(firstUpload(t, e, resp.DatasetId))}
	slices.Sort(want)
	if got := e.objects(); !slices.Equal(got, want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
	if d := e.workDirs(); len(d) != 0 {
		t.Errorf("scratch folders left: %v", d)
	}
	if n := countRows(t, e.owner, e.fl, &datasetsv1.DatasetQuery{DatasetId: resp.DatasetId, Columns: []string{"id"}, Filters: []*datasetsv1.RowFilter{{Column: "id", Op: "ge", Value: "599990"}}}); n != 10 {
		t.Errorf("rows with id >= 599990 = %d", n)
	}
}

func firstUpload(t *testing.T, e *env, datasetID string) string {
	t.Helper()
	ups, err := e.rt.Store.ListResources(context.Background(), storage.ListQuery{Kind: KindUpload, ParentID: datasetID})
	if err != nil || len(ups) != 1 {
		t.Fatalf("uploads of %s = %v, %v", datasetID, ups, err)
	}
	return ups[0].ID
}

// TestPreviewValues previews corpus files (UTF-8, Latin-1, UTF-16) and a Parquet file with binary
// columns as the owner: every cell is valid UTF-8 (proto string fields) with the right value, and
// binary cells are rendered as hex with the column's type saying so.
func TestPreviewValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, true)
	ctx := e.owner

	// A Parquet file with a BLOB column holding invalid UTF-8 and a text column, written by DuckDB.
	pq := filepath.Join(t.TempDir(), "blobs.parquet")
	dc, err := duck.Open(context.Background(), duck.Config{Threads: 1, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	err = dc.Exec(context.Background(), `COPY (SELECT * FROM (VALUES (1, '\xFF\x00\xC3'::BLOB, 'été'), (2, 'abc'::BLOB, NULL), (3, NULL, 'x')) t(id, payload, label) ORDER BY id) TO `+duck.Literal(pq)+` (FORMAT parquet)`)
	dc.Close()
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		file  string
		rows  int64
		want  map[string]string // column -> first row's cell
		nulls []string          // columns null in the first row
	}{
		{file: shareddata.Path(t, "tabular/telco_churn.csv"), rows: 7043,
			want: map[string]string{"customerID": "7590-VHVEG", "gender": "Female", "tenure": "1", "TotalCharges": "29.85", "Churn": "false"}},
		{file: shareddata.Path(t, "messy/semicolon_decimal_comma_latin1.csv"), rows: 0,
			want: map[string]string{"ville": "Saint-Étienne-0", "région": "Île-de-France", "surface_km2": "131.83", "population": "44486"}},
		{file: shareddata.Path(t, "messy/utf16_bom_tabs.tsv"), rows: 100,
			want: map[string]string{"name": "item0", "length_cm": "163", "category": "センチ"}},
		{file: pq, rows: 3,
			want: map[string]string{"id": "1", "payload": "ff00c3", "label": "été"}},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			resp, err := e.upload(ctx, c.file, &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: filepath.Base(c.file)})
			if err != nil {
				t.Fatal(err)
			}
			if j := e.wait(resp.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
				t.Fatalf("job = %v", j)
			}
			p, err := e.ds.Preview(ctx, &datasetsv1.PreviewRequest{DatasetId: resp.DatasetId, Limit: 5})
			if err != nil {
				t.Fatalf("Preview: %v", err)
			}
			if c.rows > 0 && p.TotalRows != c.rows {
				t.Errorf("total rows = %d, want %d", p.TotalRows, c.rows)
			}
			if len(p.Rows) != int(min(5, p.TotalRows)) {
				t.Fatalf("preview rows = %d", len(p.Rows))
			}
			idx := map[string]int{}
			for i, col := range p.Columns {
				idx[col.Name] = i
			}
			for col, want := range c.want {
				i, ok := idx[col]
				if !ok {
					t.Errorf("no column %q in %v", col, idx)
					continue
				}
				if got := p.Rows[0].Cells[i]; got != want || p.Rows[0].Nulls[i] {
					t.Errorf("%s = %q (null %v), want %q", col, got, p.Rows[0].Nulls[i], want)
				}
			}
			for _, r := range p.Rows {
				for _, cell := range r.Cells {
					if !utf8.ValidString(cell) {
						t.Errorf("cell %q is not valid UTF-8", cell)
					}
				}
			}
			if i, ok := idx["payload"]; ok {
				if got := p.Rows[1].Cells[i]; got != "616263" {
					t.Errorf("payload row 2 = %q, want hex 616263", got)
				}
				if !p.Rows[2].Nulls[i] {
					t.Errorf("payload row 3 should be null")
				}
				if pt := p.Columns[i].PhysicalType; !strings.Contains(pt, "hex") {
					t.Errorf("payload physical type = %q, want it to say the cells are hex", pt)
				}
			}
		})
	}
}

// TestCancelledIngest: an upload whose ingest job was cancelled does not stand in for the same
// bytes uploaded again (it pointed at a version that stayed pending for good, and every later
// upload of the file was a "duplicate" of it). Cancelled before a worker took it: the next upload
// ingests afresh, and the first version fails with the reason and loses its raw object. Cancelled
// while a worker converts it: the worker fails the version with the reason and removes its raw
// upload and upload record. After a dataset is deleted, the same bytes ingest afresh too.
func TestCancelledIngest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, false)
	ctx := e.owner
	src := filepath.Join(t.TempDir(), "small.csv")
	if err := os.WriteFile(src, []byte("a,b\n1,x\n2,y\n3,z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	md := &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "small.csv"}
	first, err := e.upload(ctx, src, md)
	if err != nil {
		t.Fatal(err)
	}
	firstRaw := firstUpload(t, e, first.DatasetId)
	if again, err := e.upload(ctx, src, md); err != nil || !again.Duplicate || again.JobId != first.JobId {
		t.Fatalf("the same bytes while the first ingest is queued: %v %v, want a duplicate of it", again, err)
	}
	if _, err := e.rt.Queue.Cancel(context.Background(), first.JobId); err != nil {
		t.Fatal(err)
	}
	second, err := e.upload(ctx, src, md)
	if err != nil || second.Duplicate || second.JobId == first.JobId || second.DatasetId == first.DatasetId {
		t.Fatalf("the same bytes after the ingest was cancelled: %v %v, want a fresh dataset and job", second, err)
	}
	g, err := e.ds.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: first.DatasetId})
	if err != nil || g.Dataset.GetCurrent().GetState() != datasetsv1.VersionState_VERSION_STATE_FAILED ||
		!strings.Contains(g.Dataset.GetCurrent().GetError(), "the ingest job "+first.JobId+" ended without making this version") {
		t.Fatalf("the first dataset after its cancelled ingest: %v %v, want a failed version naming the job", g, err)
	}
	if slices.Contains(e.objects(), "raw/"+firstRaw) {
		t.Errorf("raw upload %s of the cancelled ingest left behind", firstRaw)
	}
	e.startWorker(context.Background())
	if j := e.wait(second.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("fresh ingest: %v", j)
	}

	// Cancelled while the worker converts it: a file large enough that the conversion is under way
	// when the cancel lands (doubled and tried again if the ingest won the race).
	for rows, try := 200_000, 1; ; rows, try = rows*2, try+1 {
		var b strings.Builder
		b.WriteString("id,amount,label\n")
		for i := 0; i < rows; i++ {
			fmt.Fprintf(&b, "%d,%d.%02d,%s\n", i, i%9973, i%100, []string{"north", "south", "east"}[i%3])
		}
		big := filepath.Join(t.TempDir(), "big.csv")
		if err := os.WriteFile(big, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		up, err := e.upload(ctx, big, &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "big.csv"})
		if err != nil {
			t.Fatal(err)
		}
		raw := firstUpload(t, e, up.DatasetId)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			j, err := e.rt.Queue.Get(context.Background(), up.JobId)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != jobsv1.JobState_JOB_STATE_QUEUED || time.Now().After(deadline) {
				break
			}
		}
		c, err := e.rt.Queue.Cancel(context.Background(), up.JobId)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != jobsv1.JobState_JOB_STATE_CANCELLED {
			if try == 3 {
				t.Fatalf("the ingest of %d rows ended (%s) before the cancel three times", rows, c.State)
			}
			continue
		}
		var g *datasetsv1.GetDatasetResponse
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if g, err = e.ds.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: up.DatasetId}); err != nil {
				t.Fatal(err)
			}
			if g.Dataset.GetCurrent().GetState() != datasetsv1.VersionState_VERSION_STATE_PENDING {
				break
			}
		}
		if g.Dataset.GetCurrent().GetState() != datasetsv1.VersionState_VERSION_STATE_FAILED ||
			!strings.Contains(g.Dataset.GetCurrent().GetError(), "the ingest was cancelled (job "+up.JobId+"); upload the file again") {
			t.Fatalf("after a cancel during the conversion: %v, want a failed version naming the cancelled job", g.Dataset.GetCurrent())
		}
		if slices.Contains(e.objects(), "raw/"+raw) {
			t.Errorf("raw upload %s left after the cancel", raw)
		}
		if _, err := e.rt.Store.GetResource(context.Background(), KindUpload, raw); err == nil {
			t.Errorf("upload record %s left after the cancel", raw)
		}
		break
	}

	// The dataset of an earlier upload deleted: the same bytes again ingest afresh from their own
	// raw object (it was removed as if a duplicate, and the new ingest found nothing to read).
	if _, err := e.ds.DeleteDataset(ctx, &datasetsv1.DeleteDatasetRequest{DatasetId: second.DatasetId}); err != nil {
		t.Fatal(err)
	}
	fourth, err := e.upload(ctx, src, md)
	if err != nil || fourth.Duplicate || fourth.DatasetId == second.DatasetId {
		t.Fatalf("the same bytes after their dataset was deleted: %v %v, want a fresh dataset", fourth, err)
	}
	if j := e.wait(fourth.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("ingest after the earlier dataset was deleted: %v", j)
	}
}

// isFileViolation reports whether a status detail is a BadRequest about the field "file".
func isFileViolation(d any) bool {
	br, ok := d.(*errdetails.BadRequest)
	return ok && len(br.FieldViolations) == 1 && br.FieldViolations[0].Field == "file"
}
