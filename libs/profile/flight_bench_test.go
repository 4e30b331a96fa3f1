//go:build duckdb_arrow

package profile

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/flightx"
)

// benchFlight serves one Parquet file over Arrow Flight DoGet the way ingestion's data plane does
// (the ticket is a serialized DatasetQuery, rows are read page by page with duck.QueryParquet),
// without the metadata store and authorization around it.
type benchFlight struct {
	flight.BaseFlightServer
	path string
}

func (s *benchFlight) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	q := &datasetsv1.DatasetQuery{}
	if err := proto.Unmarshal(t.Ticket, q); err != nil {
		return err
	}
	rdr, err := duck.QueryParquet(stream.Context(), s.path, q)
	if err != nil {
		return err
	}
	defer rdr.Release()
	w := flight.NewRecordWriter(stream, ipc.WithSchema(rdr.Schema()))
	defer w.Close()
	for rdr.Next() {
		if err := w.Write(rdr.RecordBatch()); err != nil {
			return err
		}
	}
	return rdr.Err()
}

// writeBenchParquet writes rows x 20 columns shaped like benchFrame (j%5: 0 normal, 1 exponential
// x100, 2 rounded normal x10+50, 3 five categories, 4 bimodal; numeric cells missing on every 97th
// row) with DuckDB.
func writeBenchParquet(tb testing.TB, dir string, rows int) string {
	tb.Helper()
	path := filepath.Join(dir, "bench.parquet")
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{Dirs: []string{dir}, Threads: 2})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	normal := "sqrt(-2*ln(1-random()))*cos(2*pi()*random())"
	var cols []string
	for j := 0; j < 20; j++ {
		var e string
		switch j % 5 {
		case 0:
			e = normal
		case 1:
			e = "-ln(1-random())*100"
		case 2:
			e = "round(" + normal + "*10+50)"
		case 3:
			e = "(['alpha','beta','gamma','delta','epsilon'])[1+floor(random()*5)::INTEGER]"
		case 4:
			e = normal + "+4*floor(random()*2)"
		}
		if j%5 != 3 {
			e = "CASE WHEN i % 97 = 0 THEN NULL ELSE " + e + " END"
		}
		cols = append(cols, fmt.Sprintf("%s AS c%02d", e, j))
	}
	q := fmt.Sprintf("COPY (SELECT %s FROM range(%d) t(i)) TO '%s' (FORMAT parquet, COMPRESSION zstd)",
		strings.Join(cols, ", "), rows, strings.ReplaceAll(path, "'", "''"))
	if err := c.Exec(ctx, "SELECT setseed(0.42)"); err != nil {
		tb.Fatal(err)
	}
	if err := c.Exec(ctx, q); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkProfileOverFlight1Mx20 reads 1M rows x 20 columns over Arrow Flight (loopback gRPC)
// into a frame (ReadFlight) and profiles it (target c03), reporting the read and profile times and the peak Go
// heap while doing both. bench/profiling/run.sh runs it beside pandas.
//
//	go test -tags duckdb_arrow -run '^$' -bench ProfileOverFlight -benchtime 1x ./libs/profile/
func BenchmarkProfileOverFlight1Mx20(b *testing.B) {
	const rows = 1_000_000
	path := writeBenchParquet(b, b.TempDir(), rows)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	flight.RegisterFlightServiceServer(srv, &benchFlight{path: path})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	runtime.GC()

	// Sample the heap while the timed work runs.
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var read, prof time.Duration
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		// The profiling service passes the version's row count from its metadata as the hint.
		f, err := ReadFlight(ctx, conn, &datasetsv1.DatasetQuery{DatasetId: "ds_bench"}, rows)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		p, err := Compute(ctx, f, Options{Target: "c03"})
		if err != nil {
			b.Fatal(err)
		}
		read += t1.Sub(t0)
		prof += time.Since(t1)
		if f.Rows != rows || len(p.Columns) != 20 {
			b.Fatalf("%d rows, %d columns", f.Rows, len(p.Columns))
		}
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	close(stop)
	wg.Wait()
	b.ReportMetric(read.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(prof.Seconds()/float64(b.N), "profile-s/op")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	// CPU seconds (user+system, whole process: Flight server, client and profiler) tell the work
	// apart from waiting on a machine shared with other jobs.
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkFlightReadStages takes the Flight read of BenchmarkProfileOverFlight1Mx20 apart, one
// stage more per step, reporting the wall and CPU seconds (whole process) of each:
// duck (DuckDB's paged Parquet query alone, batches counted), first (of that, until its first
// batch), flight (the same rows over Flight DoGet, batches counted, no frame), builder (into a
// frame with flightx.ReadFrame, frame.Builder batch by batch) and readflight (ReadFlight with the
// row count). bench/profiling/run.sh runs it.
func BenchmarkFlightReadStages(b *testing.B) {
	const rows = 1_000_000
	path := writeBenchParquet(b, b.TempDir(), rows)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	flight.RegisterFlightServiceServer(srv, &benchFlight{path: path})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	q := &datasetsv1.DatasetQuery{DatasetId: "ds_bench"}
	wall := map[string]time.Duration{}
	cpu := map[string]float64{}
	stage := func(name string, fn func() int) {
		runtime.GC()
		t0, c0 := time.Now(), cpuSeconds()
		if n := fn(); n != rows {
			b.Fatalf("%s: %d rows", name, n)
		}
		wall[name] += time.Since(t0)
		cpu[name] += cpuSeconds() - c0
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stage("duck", func() int {
			t0, c0 := time.Now(), cpuSeconds()
			rdr, err := duck.QueryParquet(ctx, path, q)
			if err != nil {
				b.Fatal(err)
			}
			defer rdr.Release()
			n := 0
			for rdr.Next() {
				if n == 0 {
					wall["first"] += time.Since(t0)
					cpu["first"] += cpuSeconds() - c0
				}
				n += int(rdr.RecordBatch().NumRows())
			}
			return n
		})
		stage("flight", func() int {
			rdr, err := client.DoGet(ctx, flight.NewFlightServiceClient(conn), q)
			if err != nil {
				b.Fatal(err)
			}
			defer rdr.Release()
			n := 0
			for rdr.Next() {
				n += int(rdr.RecordBatch().NumRows())
			}
			return n
		})
		stage("builder", func() int {
			f, err := flightx.ReadFrame(ctx, conn, q)
			if err != nil {
				b.Fatal(err)
			}
			return f.Rows
		})
		stage("readflight", func() int {
			f, err := ReadFlight(ctx, conn, q, rows)
			if err != nil {
				b.Fatal(err)
			}
			return f.Rows
		})
	}
	for _, name := range []string{"duck", "first", "flight", "builder", "readflight"} {
		b.ReportMetric(wall[name].Seconds()/float64(b.N), name+"-s/op")
		b.ReportMetric(cpu[name]/float64(b.N), name+"-cpu-s/op")
	}
}
