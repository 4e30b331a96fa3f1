package server

import (
	"context"
	"flag"

	"github.com/apache/arrow-go/v18/arrow/flight"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ingest"
	"github.com/vdsproject/vds/libs/platform"
)

// Service is the ingestion deployable (datasets API, ingest workers and the Flight data plane).
func Service() platform.Service {
	cfg := Config{MaxUploadBytes: 2 << 30, MaxDecompressedBytes: 16 << 30, Workers: 1, DuckMemory: "384MB", DuckThreads: 2}
	return platform.Service{
		Name:  "ingestion",
		Peers: []string{"auth"},
		Flags: func(fs *flag.FlagSet) {
			fs.Int64Var(&cfg.MaxUploadBytes, "max-upload-bytes", cfg.MaxUploadBytes, "largest accepted upload in bytes")
			fs.Int64Var(&cfg.MaxDecompressedBytes, "max-decompressed-bytes", cfg.MaxDecompressedBytes, "largest size a compressed upload may inflate to")
			fs.Int64Var(&cfg.MaxLineBytes, "max-line-bytes", ingest.DefaultMaxLineBytes, "longest line (or quoted cell) a delimited upload may have")
			fs.IntVar(&cfg.Workers, "ingest-workers", cfg.Workers, "ingest jobs run at once across all ingestion replicas")
			fs.StringVar(&cfg.DuckMemory, "duckdb-memory", cfg.DuckMemory, "DuckDB memory limit per ingest or query")
			fs.IntVar(&cfg.DuckThreads, "duckdb-threads", cfg.DuckThreads, "DuckDB threads per ingest or query")
		},
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			s, err := New(rt, cfg)
			if err != nil {
				return nil, err
			}
			datasetsv1.RegisterDatasetServiceServer(srv, s)
			flight.RegisterFlightServiceServer(srv.Server, s.Flight())
			return s.Run, nil
		},
	}
}
