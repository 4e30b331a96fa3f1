//go:build duckdb_arrow

package profile

import (
	"context"
	"math"
	"net"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/flightx"
	"github.com/vdsproject/vds/libs/frame"
)

// TestReadFlightMatchesFrameBuilder serves a Parquet file with every common type and missing
// values over Flight and checks that ReadFlight gives the frame flightx.ReadFrame (frame.Builder)
// gives, with no row hint, a short hint and an exact one.
func TestReadFlightMatchesFrameBuilder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mixed.parquet")
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{Dirs: []string{dir}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 10_000
	q := `COPY (SELECT
		CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END AS f64,
		CASE WHEN i % 11 = 0 THEN NULL ELSE i END::BIGINT AS i64,
		(i % 100)::INTEGER AS i32,
		(i % 100)::SMALLINT AS i16,
		(i % 3)::FLOAT AS f32,
		CASE WHEN i % 13 = 0 THEN NULL ELSE 'v' || (i % 17) END AS s,
		i % 2 = 0 AS b,
		TIMESTAMP '2020-01-01' + INTERVAL (i) MINUTE AS ts,
		DATE '2020-01-01' + (i % 400)::INTEGER AS d,
		(i / 3.0)::DECIMAL(10,2) AS dec
		FROM range(` + "10000" + `) t(i)) TO '` + path + `' (FORMAT parquet)`
	if err := c.Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	c.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	flight.RegisterFlightServiceServer(srv, &benchFlight{path: path})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want, err := flightx.ReadFrame(ctx, conn, &datasetsv1.DatasetQuery{DatasetId: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want.Rows != rows || len(want.Columns) != 10 {
		t.Fatalf("reference frame %d x %d", want.Rows, len(want.Columns))
	}
	for _, hint := range []int64{0, 100, rows} {
		got, err := ReadFlight(ctx, conn, &datasetsv1.DatasetQuery{DatasetId: "x"}, hint)
		if err != nil {
			t.Fatalf("hint %d: %v", hint, err)
		}
		if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
			t.Fatalf("hint %d: %d x %d", hint, got.Rows, len(got.Columns))
		}
		for j, w := range want.Columns {
			g := got.Columns[j]
			if g.Name != w.Name || g.Kind != w.Kind || g.ArrowType != w.ArrowType || g.Len() != w.Len() {
				t.Fatalf("hint %d column %d: %s %s %s %d, want %s %s %s %d", hint, j, g.Name, g.Kind, g.ArrowType, g.Len(), w.Name, w.Kind, w.ArrowType, w.Len())
			}
			nulls := 0
			for i := 0; i < rows; i++ {
				if g.Null[i] != w.Null[i] {
					t.Fatalf("hint %d %s row %d: null %v, want %v", hint, w.Name, i, g.Null[i], w.Null[i])
				}
				if w.Null[i] {
					nulls++
				}
				if w.Kind == frame.String {
					if g.S[i] != w.S[i] {
						t.Fatalf("hint %d %s row %d: %q, want %q", hint, w.Name, i, g.S[i], w.S[i])
					}
				} else if !(g.F[i] == w.F[i] || math.IsNaN(g.F[i]) && math.IsNaN(w.F[i])) {
					t.Fatalf("hint %d %s row %d: %v, want %v", hint, w.Name, i, g.F[i], w.F[i])
				}
			}
			if w.Name == "f64" && (nulls != 1429 || g.F[3] != 1.5) {
				t.Errorf("f64: %d nulls, row 3 = %v", nulls, g.F[3])
			}
		}
	}
}
