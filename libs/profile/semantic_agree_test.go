//go:build duckdb_arrow

package profile

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/ingest"
	"github.com/vdsproject/vds/libs/semantic"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestIngestAndProfileAgreeOnNumbers: for every shared file, each column that is not text gets the
// same semantic type from ingestion (DuckDB statistics, approximate distinct counts) as from the
// profile (exact statistics of the ingested frame). Both use semantic.IntegerIdentifier, so a
// counting measure (messy/mixed_types.csv's value, mixed_date_formats.csv's amount: 0, 1, 2, ...)
// is NUMERIC in both, and R's row names (causal/nhefs.csv, nsw_experimental.csv) an IDENTIFIER
// in both. (Text columns are typed by rules that still differ between the two: not checked here.)
func TestIngestAndProfileAgreeOnNumbers(t *testing.T) {
	t.Parallel()
	root := shareddata.Path(t, ".")
	var files []string
	if err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // file/column -> the agreed type, for the cases that differed
		"messy/mixed_types.csv/value":          "numeric",
		"messy/mixed_date_formats.csv/amount":  "numeric",
		"causal/nhefs.csv/rownames":            "identifier",
		"causal/nsw_experimental.csv/rownames": "identifier",
		"tabular/telco_churn.csv/tenure":       "numeric",
	}
	seen := 0
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			ctx := context.Background()
			dst := filepath.Join(t.TempDir(), "data.parquet")
			res, err := ingest.Convert(ctx, shareddata.Path(t, rel), dst, ingest.Options{Threads: 1})
			if err != nil {
				t.Skipf("ingestion refused it (its own tests check that): %v", err)
			}
			p, err := Compute(ctx, parquetFrame(t, dst), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Columns) != len(res.Columns) {
				t.Fatalf("profile has %d columns, ingestion %d", len(p.Columns), len(res.Columns))
			}
			for i, c := range res.Columns {
				pc := p.Columns[i]
				if w, ok := want[rel+"/"+c.Name]; ok {
					seen++
					if got := semantic.Name(c.SemanticType); got != w {
						t.Errorf("%s: ingestion says %s, want %s", c.Name, got, w)
					}
				}
				if c.PhysicalType == "string" {
					continue
				}
				if c.SemanticType != pc.SemanticType {
					t.Errorf("%s (%s): ingestion says %s, the profile %s", c.Name, c.PhysicalType, semantic.Name(c.SemanticType), semantic.Name(pc.SemanticType))
				}
			}
		})
	}
	if !t.Failed() && seen != len(want) {
		t.Errorf("checked %d of the %d named columns", seen, len(want))
	}
}
