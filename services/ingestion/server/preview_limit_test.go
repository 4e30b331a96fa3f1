package server

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestPreviewLimit: a negative limit or one above the maximum is InvalidArgument naming the limit
// and the allowed range (a negative limit silently gave the default 20 rows); 0 is the default.
func TestPreviewLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, true)
	resp, err := e.upload(e.owner, shareddata.Path(t, "tabular/tips.csv"), &datasetsv1.UploadMetadata{ProjectId: e.project, FileName: "tips.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if j := e.wait(resp.JobId); j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job = %v", j)
	}
	for _, c := range []struct {
		limit int32
		msg   string
	}{
		{-5, "limit: -5 is out of range: the limit must be between 1 and 1000 rows (0 or no limit: 20 rows); read more rows over Arrow Flight"},
		{-1, "limit: -1 is out of range: the limit must be between 1 and 1000 rows (0 or no limit: 20 rows); read more rows over Arrow Flight"},
		{1001, "limit: 1001 is out of range: the limit must be between 1 and 1000 rows (0 or no limit: 20 rows); read more rows over Arrow Flight"},
	} {
		_, err := e.ds.Preview(e.owner, &datasetsv1.PreviewRequest{DatasetId: resp.DatasetId, Limit: c.limit})
		if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != c.msg {
			t.Errorf("limit %d: %v, want InvalidArgument %q", c.limit, err, c.msg)
		}
	}
	for _, c := range []struct {
		limit int32
		rows  int
	}{{0, 20}, {1, 1}, {1000, 244}} {
		p, err := e.ds.Preview(e.owner, &datasetsv1.PreviewRequest{DatasetId: resp.DatasetId, Limit: c.limit})
		if err != nil || len(p.Rows) != c.rows {
			t.Errorf("limit %d: %d rows (%v), want %d", c.limit, len(p.GetRows()), err, c.rows)
		}
	}
}
