//go:build duckdb_arrow

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
)

// BenchmarkFlightVsJSON reads a 1M-row x 10-column dataset from the ingestion service over Arrow
// Flight (DoGet over loopback gRPC, all batches decoded) and compares it with the same rows as
// JSON objects, encoded and decoded with encoding/json (what a REST client of a JSON endpoint pays;
// the gateway's only row endpoint, Preview, stops at 1000 rows). Run once:
//
//	go test -tags duckdb_arrow -run '^$' -bench FlightVsJSON -benchtime 1x ./services/ingestion/server/
func BenchmarkFlightVsJSON(b *testing.B) {
	const rows, per = 1_000_000, 65_536
	e := newEnv(b, Config{}, true)
	ctx := e.owner
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i0", Type: arrow.PrimitiveTypes.Int64}, {Name: "i1", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i2", Type: arrow.PrimitiveTypes.Int64}, {Name: "i3", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f0", Type: arrow.PrimitiveTypes.Float64}, {Name: "f1", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f2", Type: arrow.PrimitiveTypes.Float64}, {Name: "f3", Type: arrow.PrimitiveTypes.Float64},
		{Name: "s0", Type: arrow.BinaryTypes.String}, {Name: "s1", Type: arrow.BinaryTypes.String},
	}, nil)
	st, err := e.fl.DoPut(ctx)
	if err != nil {
		b.Fatal(err)
	}
	w := flight.NewRecordWriter(st, ipc.WithSchema(schema))
	cmd, _ := proto.Marshal(&datasetsv1.FlightPutCommand{ProjectId: e.project, Name: "wide"})
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd})
	cats := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	for start := 0; start < rows; start += per {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := start; i < min(start+per, rows); i++ {
			for c := 0; c < 4; c++ {
				rb.Field(c).(*array.Int64Builder).Append(int64(i*(c+1)) % 100_003)
				rb.Field(4 + c).(*array.Float64Builder).Append(float64(i%9973) / float64(c+3))
			}
			rb.Field(8).(*array.StringBuilder).Append(cats[i%5])
			rb.Field(9).(*array.StringBuilder).Append(fmt.Sprintf("id-%07d", i))
		}
		rec := rb.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	w.Close()
	st.CloseSend()
	res, err := st.Recv()
	if err != nil {
		b.Fatal(err)
	}
	up := &datasetsv1.UploadResponse{}
	proto.Unmarshal(res.AppMetadata, up)
	if j := e.wait(up.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		b.Fatalf("ingest: %v", j)
	}
	q := &datasetsv1.DatasetQuery{DatasetId: up.DatasetId}
	// Warm the local Parquet cache once (as a long-running service would have it).
	countRows(b, ctx, e.fl, &datasetsv1.DatasetQuery{DatasetId: up.DatasetId, Limit: 1})

	var flightSecs, jsonSecs float64
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		t0 := time.Now()
		rdr, err := client.DoGet(ctx, e.fl, q)
		if err != nil {
			b.Fatal(err)
		}
		var recs []arrow.RecordBatch
		got := 0
		for rdr.Next() {
			r := rdr.RecordBatch()
			r.Retain()
			recs = append(recs, r)
			got += int(r.NumRows())
		}
		if err := rdr.Err(); err != nil {
			b.Fatal(err)
		}
		rdr.Release()
		flightSecs += time.Since(t0).Seconds()
		if got != rows {
			b.Fatalf("Flight rows = %d", got)
		}
		// The same rows as JSON objects: encode (server side) and decode (client side).
		objs := make([]map[string]any, 0, rows)
		for _, r := range recs {
			for i := 0; i < int(r.NumRows()); i++ {
				o := make(map[string]any, 10)
				for c := 0; c < 10; c++ {
					switch a := r.Column(c).(type) {
					case *array.Int64:
						o[schema.Field(c).Name] = a.Value(i)
					case *array.Float64:
						o[schema.Field(c).Name] = a.Value(i)
					case *array.String:
						o[schema.Field(c).Name] = a.Value(i)
					}
				}
				objs = append(objs, o)
			}
			r.Release()
		}
		t1 := time.Now()
		body, err := json.Marshal(map[string]any{"rows": objs})
		if err != nil {
			b.Fatal(err)
		}
		var back struct {
			Rows []map[string]any `json:"rows"`
		}
		if err := json.Unmarshal(body, &back); err != nil || len(back.Rows) != rows {
			b.Fatalf("JSON round trip: %v, %d rows", err, len(back.Rows))
		}
		jsonSecs += time.Since(t1).Seconds()
		b.ReportMetric(float64(len(body))/1e6, "json_MB")
	}
	b.ReportMetric(flightSecs/float64(b.N), "flight_s")
	b.ReportMetric(jsonSecs/float64(b.N), "json_s")
	b.ReportMetric(jsonSecs/flightSecs, "json/flight")
	_ = context.Background
}
