package server

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/storage"
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
	return &flight.FlightInfo{Schema: flight.SerializeSchema(schema, memory.DefaultAllocator), FlightDescriptor: d,
		Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}}, TotalRecords: rows, TotalBytes: -1}, nil
}

// DoPut takes Arrow record batches and makes them a dataset version. The descriptor is a command
// holding a serialized vds.datasets.v1.FlightPutCommand. The batches are streamed (one at a time)
// into the object store as an Arrow IPC stream under a random ID, bounded by --max-upload-bytes,
// and ingested by the same job as any upload; the one PutResult carries the UploadResponse.
func (f *Flight) DoPut(stream flight.FlightService_DoPutServer) error {
	ctx := stream.Context()
	s := f.s
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "DoPut: expected an Arrow schema message first: %v", err)
	}
	defer rdr.Release()
	d := rdr.LatestFlightDescriptor()
	if d == nil || d.Type != flight.DescriptorCMD {
		return grpcx.InvalidArgument("descriptor", "use a command descriptor holding a serialized vds.datasets.v1.FlightPutCommand")
	}
	cmd := &datasetsv1.FlightPutCommand{}
	if err := proto.Unmarshal(d.Cmd, cmd); err != nil {
		return grpcx.InvalidArgument("descriptor.cmd", "is not a serialized vds.datasets.v1.FlightPutCommand")
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, cmd.ProjectId, storage.RoleEditor, "project", cmd.ProjectId)
	if err != nil {
		return err
	}
	var target *datasetsv1.Dataset
	if cmd.DatasetId != "" {
		if target, err = s.getDataset(ctx, cmd.DatasetId, storage.RoleEditor); err != nil {
			return err
		}
		if target.ProjectId != cmd.ProjectId {
			return grpcx.NotFound("dataset", cmd.DatasetId)
		}
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" && target != nil {
		name = target.Name
	}
	if name == "" {
		return grpcx.InvalidArgument("name", "is required (the dataset's display name)")
	}
	if len(name) > 255 {
		return grpcx.InvalidArgument("name", "must be at most 255 characters")
	}
	uploadID := ids.New(ids.Upload)
	pr, pw := io.Pipe()
	go func() {
		w := ipc.NewWriter(pw, ipc.WithSchema(rdr.Schema()))
		var err error
		for rdr.Next() {
			if err = w.Write(rdr.RecordBatch()); err != nil {
				break
			}
		}
		if err == nil {
			err = rdr.Err()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil && !errors.Is(err, io.ErrClosedPipe) {
			err = status.Errorf(codes.InvalidArgument, "DoPut: reading record batches: %v", err)
		}
		pw.CloseWithError(err)
	}()
	put, err := s.rt.Blobs.Put(ctx, rawKey(uploadID), pr, s.cfg.MaxUploadBytes)
	pr.CloseWithError(io.ErrClosedPipe)
	md := &datasetsv1.UploadMetadata{ProjectId: cmd.ProjectId, Name: name, DatasetId: cmd.DatasetId, Options: &datasetsv1.ReadOptions{Format: "arrow"}}
	resp, err := s.stored(ctx, who.UserID, md, target, name, "", "flight_put", uploadID, put, err)
	if err != nil {
		return err
	}
	meta, _ := proto.Marshal(resp)
	return stream.Send(&flight.PutResult{AppMetadata: meta})
}
