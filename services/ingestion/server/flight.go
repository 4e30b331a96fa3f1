package server

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
)

// Flight serves dataset rows as Arrow record batches. Tickets and descriptor commands are serialized
// vds.datasets.v1.DatasetQuery messages; every call is authorized like the dataset RPCs.
type Flight struct {
	flight.BaseFlightServer
	s *Server
}

// Flight returns the Arrow Flight service of this server.
func (s *Server) Flight() *Flight { return &Flight{s: s} }

func decodeQuery(b []byte) (*datasetsv1.DatasetQuery, error) {
	q := &datasetsv1.DatasetQuery{}
	if err := proto.Unmarshal(b, q); err != nil || q.DatasetId == "" {
		return nil, status.Error(codes.InvalidArgument, "Flight ticket must be a serialized vds.datasets.v1.DatasetQuery with dataset_id")
	}
	return q, nil
}

func (s *Server) query(ctx context.Context, path string, q *datasetsv1.DatasetQuery) (array.RecordReader, error) {
	rdr, err := duck.QueryParquetWith(ctx, path, q, duck.QueryOptions{Config: duck.Config{Threads: s.cfg.DuckThreads, MemoryLimit: s.cfg.DuckMemory}})
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
			return nil, err
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return rdr, nil
}

// DoGet streams the rows of a DatasetQuery.
func (f *Flight) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	ctx := stream.Context()
	q, err := decodeQuery(t.Ticket)
	if err != nil {
		return err
	}
	_, ver, err := f.s.readyVersion(ctx, q.DatasetId, q.Version)
	if err != nil {
		return err
	}
	path, err := f.s.localParquet(ctx, ver.DatasetId, ver.Version)
	if err != nil {
		return grpcx.Internal(ctx, err, "read dataset")
	}
	rdr, err := f.s.query(ctx, path, q)
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
	if err := rdr.Err(); err != nil {
		return grpcx.Internal(ctx, err, "read dataset")
	}
	return nil
}

// GetFlightInfo describes a query: its schema, row count and the ticket to fetch it.
func (f *Flight) GetFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if d.Type != flight.DescriptorCMD {
		return nil, status.Error(codes.InvalidArgument, "use a command descriptor holding a serialized vds.datasets.v1.DatasetQuery")
	}
	q, err := decodeQuery(d.Cmd)
	if err != nil {
		return nil, err
	}
	_, ver, err := f.s.readyVersion(ctx, q.DatasetId, q.Version)
	if err != nil {
		return nil, err
	}
	q.Version = ver.Version
	path, err := f.s.localParquet(ctx, ver.DatasetId, ver.Version)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "read dataset")
	}
	lq := proto.Clone(q).(*datasetsv1.DatasetQuery)
	lq.Limit = 1
	rdr, err := f.s.query(ctx, path, lq)
	if err != nil {
		return nil, err
	}
	schema := rdr.Schema()
	rdr.Release()
	ticket, _ := proto.Marshal(q)
	rows := ver.RowCount
	if q.Limit > 0 && q.Limit < rows {
		rows = q.Limit
	}
	if len(q.Filters) > 0 {
		rows = -1 // unknown without running the filter
	}
	return &flight.FlightInfo{Schema: flight.SerializeSchema(schema, nil), FlightDescriptor: d,
		Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}}, TotalRecords: rows, TotalBytes: -1}, nil
}
