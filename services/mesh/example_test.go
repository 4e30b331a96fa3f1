package mesh_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// The Go SDK against an embedded platform: upload a file, wait for ingest, read it over Flight.
func ExampleUp() {
	ctx := context.Background()
	home, _ := os.MkdirTemp("", "vds-example-")
	defer os.RemoveAll(home)
	p, err := mesh.Up(ctx, mesh.Options{Home: home, Bootstrap: true, Log: logging.New(io.Discard, "json", "error")})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop()

	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	iris := shareddata.Dir() + "/tabular/iris.csv"
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, iris, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		log.Fatal(err)
	}
	v, err := c.Datasets.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: up.DatasetId, Version: up.Version})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Version.RowCount, "rows,", len(v.Version.Columns), "columns")

	rdr, err := c.ReadDataset(ctx, &datasetsv1.DatasetQuery{DatasetId: up.DatasetId, Columns: []string{"species"}})
	if err != nil {
		log.Fatal(err)
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	fmt.Println(n, "rows of", rdr.Schema().Field(0).Name, "over Flight")
	// Output:
	// 150 rows, 5 columns
	// 150 rows of species over Flight
}
