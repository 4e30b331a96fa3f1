// Package flightx reads dataset rows from the ingestion service's Arrow Flight endpoint. It is the
// only way services get rows: by dataset ID, only the columns they need, as Arrow record batches.
package flightx

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
)

// ReadFrame streams the query's rows into an in-memory frame, acting as the caller in ctx.
func ReadFrame(ctx context.Context, conn grpc.ClientConnInterface, q *datasetsv1.DatasetQuery) (*frame.Frame, error) {
	rdr, err := client.DoGet(grpcx.Forward(ctx), flight.NewFlightServiceClient(conn), q)
	if err != nil {
		return nil, fmt.Errorf("read dataset %s over Flight: %w", q.DatasetId, err)
	}
	defer rdr.Release()
	b := frame.NewBuilder(rdr.Schema())
	for rdr.Next() {
		if err := b.Append(rdr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("read dataset %s over Flight: %w", q.DatasetId, err)
	}
	return b.Frame(), nil
}
