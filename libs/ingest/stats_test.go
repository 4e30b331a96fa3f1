//go:build duckdb_arrow

package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/shareddata"
)

// statsBothWays converts src with describe reading the Parquet metadata (the default) and with
// describe scanning every column, and fails unless the columns (physical type, missing count,
// semantic type) and row counts are identical. It returns the default result (nil if both fail).
func statsBothWays(t *testing.T, src string, opts Options) *Result {
	t.Helper()
	dir := t.TempDir()
	scan := opts
	scan.scanStats = true
	sr, serr := Convert(context.Background(), src, filepath.Join(dir, "scan.parquet"), scan)
	mr, merr := Convert(context.Background(), src, filepath.Join(dir, "meta.parquet"), opts)
	if (serr == nil) != (merr == nil) {
		t.Fatalf("%s: scan error %v, metadata error %v", filepath.Base(src), serr, merr)
	}
	if serr != nil {
		return nil
	}
	if sr.RowCount != mr.RowCount || len(sr.Columns) != len(mr.Columns) {
		t.Fatalf("%s: %d rows x %d columns (scan) vs %d x %d (metadata)", filepath.Base(src), sr.RowCount, len(sr.Columns), mr.RowCount, len(mr.Columns))
	}
	for i := range sr.Columns {
		if !proto.Equal(sr.Columns[i], mr.Columns[i]) {
			t.Errorf("%s: column %d: scan %v, metadata %v", filepath.Base(src), i, sr.Columns[i], mr.Columns[i])
		}
	}
	return mr
}

// TestStatsFromMetadataMatchScan: on every corpus file, the statistics read partly from the
// Parquet metadata give the same schema as scanning every column.
func TestStatsFromMetadataMatchScan(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"tabular", "causal", "messy"} {
		ents, err := os.ReadDir(filepath.Dir(shareddata.Path(t, dir+"/../README.md")) + "/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if name == "README.md" || name == "very_wide_2000_cols.csv" {
				continue
			}
			src := shareddata.Path(t, dir+"/"+name)
			t.Run(dir+"/"+name, func(t *testing.T) { statsBothWays(t, src, Options{Threads: 1}) })
		}
	}
}

// TestStatsFromMetadataSemanticTypes: a file of two row groups whose columns exercise each
// reading describe takes from the metadata or still scans for: a sequence (identifier), unique
// codes under an identifier's name, 0/1 integers (boolean), integer codes (numeric), latitudes and
// longitudes (range scanned), a floating-point column with NaN, booleans and timestamps with
// missing cells, and text.
func TestStatsFromMetadataSemanticTypes(t *testing.T) {
	t.Parallel()
	const n = 130000 // more than one row group (122,880 rows)
	var b strings.Builder
	b.WriteString("seq,user_id,flag,code,lat,lon,ratio,ok,at,label\n")
	for i := 0; i < n; i++ {
		ratio := fmt.Sprintf("%.3f", float64(i%1000)/7)
		if i == n-5 {
			ratio = "NaN"
		}
		ok, at := "true", fmt.Sprintf("2024-01-%02dT10:00:00", i%28+1)
		if i%10 == 3 {
			ok = "false"
		}
		if i%1000 == 7 {
			ok, at = "", ""
		}
		fmt.Fprintf(&b, "%d,%d,%d,%d,%.4f,%.4f,%s,%s,%s,item %d\n",
			i+1, (i*7919)%n+1000000, i%2, i%97, float64(i%180)-89.5, float64(i%360)-179.5, ratio, ok, at, i%50)
	}
	src := filepath.Join(t.TempDir(), "kinds.csv")
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res := statsBothWays(t, src, Options{Threads: 2})
	if res == nil {
		t.Fatal("conversion failed")
	}
	if res.RowCount != n {
		t.Fatalf("rows %d, want %d", res.RowCount, n)
	}
	want := map[string]commonv1.SemanticType{
		"seq": commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER, "user_id": commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER,
		"flag": commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN, "code": commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC,
		"lat": commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE, "lon": commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE,
		"ratio": commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, "ok": commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN,
		"at": commonv1.SemanticType_SEMANTIC_TYPE_DATETIME, "label": commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL,
	}
	// The metadata path is really taken: every column has its null count there, and the integer
	// columns their range across both row groups.
	dir := t.TempDir()
	out := filepath.Join(dir, "out.parquet")
	if _, err := Convert(context.Background(), src, out, Options{Threads: 2}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := duck.Open(ctx, duck.Config{Threads: 1, ReadPaths: []string{out}, Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := os.Rename(out, filepath.Join(dir, "out.parquet.tmp")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "job")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "out.parquet.tmp"), filepath.Join(sub, "out.parquet")); err != nil {
		t.Fatal(err)
	}
	j := &job{ctx: ctx, tmpDir: sub, conn: conn}
	desc, err := j.describeQuery("SELECT * FROM " + duck.ParquetScan(j.tmpParquet()))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := j.parquetColumnMeta(desc)
	if err != nil || len(meta) != len(desc) {
		t.Fatalf("metadata %v, %v", meta, err)
	}
	for i, d := range desc {
		if !meta[i].ok {
			t.Errorf("column %s: no null counts in the metadata", d.Name)
		}
	}
	if m := meta[0]; !m.hasRange || m.min != 1 || m.max != n || m.nulls != 0 {
		t.Errorf("seq: metadata %+v, want range 1..%d and no nulls", m, n)
	}
	if m := meta[7]; m.nulls != n/1000 {
		t.Errorf("ok: metadata %d nulls, want %d", m.nulls, n/1000)
	}
	missing := map[string]int64{"ok": n / 1000, "at": n / 1000, "ratio": 1}
	for _, c := range res.Columns {
		if c.SemanticType != want[c.Name] {
			t.Errorf("column %s: semantic type %v, want %v", c.Name, c.SemanticType, want[c.Name])
		}
		if c.MissingCount != missing[c.Name] {
			t.Errorf("column %s: %d missing, want %d", c.Name, c.MissingCount, missing[c.Name])
		}
	}
}
