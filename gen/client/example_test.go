package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
)

// Dial a running platform (`vds up` prints the address and keeps an API key in ~/.vds/credentials.json),
// upload a file with progress, wait for the ingest job, and read two columns back over Arrow Flight.
// services/mesh's ExampleUp runs the same steps against an embedded platform.
func ExampleDial() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "127.0.0.1:7070", client.WithAPIKey(os.Getenv("VDS_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	up, err := c.UploadFile(ctx, os.Getenv("VDS_PROJECT"), "iris.csv", func(sent, total int64) {
		fmt.Fprintf(os.Stderr, "\r%d / %d bytes", sent, total)
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, func(ev *jobsv1.JobEvent) { fmt.Fprintln(os.Stderr, ev.Stage, ev.Progress) }); err != nil {
		log.Fatal(err)
	}
	rdr, err := c.ReadDataset(ctx, &datasetsv1.DatasetQuery{DatasetId: up.DatasetId, Columns: []string{"species", "petal_length"}})
	if err != nil {
		log.Fatal(err)
	}
	defer rdr.Release()
	for rdr.Next() {
		fmt.Println(rdr.RecordBatch().NumRows(), "rows")
	}
}
