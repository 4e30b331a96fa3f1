// Command ingestion runs the vds ingestion service (datasets, ingest workers, Arrow Flight) alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/ingestion/server"
)

func main() { platform.Main(server.Service()) }
