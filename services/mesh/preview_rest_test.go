package mesh_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/vdsproject/vds/gen/client"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// TestPreviewLimitOverREST: GET /v1/datasets/{id}:preview?limit=-5 (or above 1000) is a 400 naming
// the limit and its range; it once silently returned 20 rows.
func TestPreviewLimitOverREST(t *testing.T) {
	ctx := context.Background()
	p, err := mesh.Up(ctx, mesh.Options{Home: t.TempDir(), Bootstrap: true, Log: logging.New(io.Discard, "json", "error")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, shareddata.Path(t, "tabular/tips.csv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.HTTPURL+"/v1/datasets/"+up.DatasetId+":preview"+query, nil)
		req.Header.Set("x-api-key", p.Creds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	for _, q := range []string{"?limit=-5", "?limit=1001"} {
		code, body := get(q)
		msg, _ := body["message"].(string)
		want := "limit: " + q[len("?limit="):] + " is out of range: the limit must be between 1 and 1000 rows (0 or no limit: 20 rows); read more rows over Arrow Flight"
		if code != http.StatusBadRequest || msg != want {
			t.Errorf("%s: %d %q, want 400 %q", q, code, msg, want)
		}
	}
	for q, n := range map[string]int{"": 20, "?limit=3": 3} {
		code, body := get(q)
		if rows, _ := body["rows"].([]any); code != http.StatusOK || len(rows) != n {
			t.Errorf("%q: %d with %d rows, want 200 with %d", q, code, len(rows), n)
		}
	}
}
