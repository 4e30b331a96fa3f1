//go:build duckdb_arrow

package profile

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts/vegatest"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/ingest"
	"github.com/vdsproject/vds/libs/semantic"
	"github.com/vdsproject/vds/libs/shareddata"
)

// ingestFrame reads a shared file the way the platform does: ingestion's Convert to Parquet, then
// the Parquet read back as Arrow batches into a frame.
func ingestFrame(t *testing.T, rel string) (*frame.Frame, error) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data.parquet")
	if _, err := ingest.Convert(context.Background(), shareddata.Path(t, rel), dst, ingest.Options{}); err != nil {
		return nil, err
	}
	return parquetFrame(t, dst), nil
}

// parquetFrame reads a Parquet file as Arrow batches into a frame, as the services do.
func parquetFrame(t *testing.T, path string) *frame.Frame {
	t.Helper()
	rr, err := duck.QueryParquet(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	b := frame.NewBuilder(rr.Schema())
	for rr.Next() {
		if err := b.Append(rr.RecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return b.Frame()
}

// TestSharedCorpus profiles every file under the shared data folder through the real ingestion
// path, tests hypotheses on it, and checks the alerts each file's README implies.
func TestSharedCorpus(t *testing.T) {
	t.Parallel()
	root := shareddata.Path(t, ".")
	type want struct {
		target     string
		alerts     []string // kind:column that must be present
		types      map[string]commonv1.SemanticType
		absent     []string // kind:column that must not be present
		missing    map[string]int64
		rows, cols int               // expected shape when set
		top        map[string]string // expected most frequent value (checks text survives intact)
		// refusal is set for files ingestion must refuse (no rows, no bytes).
		refusal bool
		// multimodal: at least one of these columns is flagged multimodal.
		multimodal []string
		// survive: column pairs with a surviving hypothesis; segments: (bimodal column, other)
		// pairs with a surviving segment finding.
		survive, segments [][2]string
		// maxCorrelations bounds the pairwise work on wide files.
		maxCorrelations int
	}
	num, id, cat, boolean, empty := commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER,
		commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN, commonv1.SemanticType_SEMANTIC_TYPE_EMPTY
	wants := map[string]want{
		"messy/all_null_column.csv":                {alerts: []string{"all_missing:empty_col"}, types: map[string]commonv1.SemanticType{"empty_col": empty}},
		"messy/numeric_with_placeholders.csv":      {types: map[string]commonv1.SemanticType{"x": num}, missing: map[string]int64{"x": 18}},
		"messy/mixed_types.csv":                    {alerts: []string{"mixed_types:month"}},
		"messy/semicolon_decimal_comma_latin1.csv": {types: map[string]commonv1.SemanticType{"surface_km2": num}, alerts: []string{"constant:région"}, top: map[string]string{"région": "Île-de-France"}},
		"messy/constant_and_string_target.csv":     {target: "label", alerts: []string{"constant:const_nan", "near_constant:near_const"}, types: map[string]commonv1.SemanticType{"label": boolean}},
		"messy/leading_zero_ids.csv":               {alerts: []string{"identifier:customer"}, types: map[string]commonv1.SemanticType{"customer": id, "zip": id}},
		"messy/currency_thousands.csv":             {types: map[string]commonv1.SemanticType{"revenue": num, "share": num}},
		"messy/utf16_bom_tabs.tsv":                 {rows: 100, cols: 3, top: map[string]string{"category": "厘米"}},
		"messy/embedded_newlines.csv":              {rows: 100, cols: 3},
		"messy/stray_quote_crlf.csv":               {rows: 300, cols: 3},
		"messy/mixed_date_formats.csv":             {types: map[string]commonv1.SemanticType{"when": commonv1.SemanticType_SEMANTIC_TYPE_DATETIME}},
		"messy/duplicate_headers_ragged.csv":       {cols: 6},
		"messy/header_only.csv":                    {refusal: true},
		"messy/empty.csv":                          {refusal: true},
		"tabular/titanic.csv":                      {target: "survived", alerts: []string{"leakage:alive", "many_missing:deck"}, absent: []string{"leakage:sex", "leakage:fare"}},
		"tabular/telco_churn.csv":                  {target: "Churn", alerts: []string{"identifier:customerID"}, types: map[string]commonv1.SemanticType{"customerID": id, "TotalCharges": num, "Churn": boolean}, missing: map[string]int64{"TotalCharges": 11}},
		"tabular/penguins.csv": {target: "species", types: map[string]commonv1.SemanticType{"species": cat, "body_mass_g": num},
			multimodal: []string{"body_mass_g", "flipper_length_mm"},
			survive:    [][2]string{{"species", "body_mass_g"}, {"species", "flipper_length_mm"}, {"species", "bill_length_mm"}},
			segments:   [][2]string{{"flipper_length_mm", "species"}, {"flipper_length_mm", "body_mass_g"}}},
		"tabular/flights.csv":           {alerts: []string{"trend:passengers", "seasonality:passengers"}, absent: []string{"trend:year"}},
		"messy/very_wide_2000_cols.csv": {rows: 50, cols: 2000, maxCorrelations: DefaultMaxPairColumns * (DefaultMaxPairColumns - 1)},
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d files under %s", len(files), root)
	}
	for rel := range wants {
		if !slices.Contains(files, rel) {
			t.Errorf("expected file %s is missing from the corpus", rel)
		}
	}
	validate := vegatest.Optional(t)
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			w := wants[rel]
			f, err := ingestFrame(t, rel)
			if w.refusal {
				if !errors.Is(err, ingest.ErrEmpty) {
					t.Fatalf("want an empty-file refusal from ingestion, got %v", err)
				}
				return
			}
			if err != nil {
				// Ingestion may refuse a broken file with a clear error (its own tests check the
				// wording); profiling has nothing to do then.
				t.Logf("ingestion refused: %v", err)
				return
			}
			p, err := Compute(context.Background(), f, Options{Target: w.target})
			if err != nil {
				t.Fatalf("profile: %v", err)
			}
			if _, err := protojson.Marshal(p); err != nil {
				t.Fatalf("profile does not marshal: %v", err)
			}
			hyps, findings := Hypotheses(f, p, w.target, 0.05)
			charted := slices.Clone(p.Charts)
			for _, h := range hyps {
				if h.Chart != nil {
					charted = append(charted, h.Chart)
				}
			}
			seen := map[string]bool{}
			for _, ch := range charted {
				if seen[ch.Id] {
					t.Errorf("chart ID %s used twice", ch.Id)
				}
				seen[ch.Id] = true
				if validate != nil {
					if err := validate(ch.VegaLite.AsMap()); err != nil {
						t.Errorf("chart %s (%s) does not validate against the Vega-Lite schema: %v", ch.Title, ch.Kind, err)
					}
				}
			}
			for _, fd := range findings {
				if fd.Statement == "" || fd.Query == "" {
					t.Errorf("finding without statement or query: %v", fd)
				}
			}
			for _, k := range w.alerts {
				kind, col, _ := strings.Cut(k, ":")
				if findAlert(p, kind, col) == nil {
					t.Errorf("missing alert %s; alerts: %v", k, alertKinds(p))
				}
			}
			for _, k := range w.absent {
				kind, col, _ := strings.Cut(k, ":")
				if findAlert(p, kind, col) != nil {
					t.Errorf("unexpected alert %s", k)
				}
			}
			for name, st := range w.types {
				if c := column(t, p, name); c.SemanticType != st {
					t.Errorf("%s is %s, want %s", name, semantic.Name(c.SemanticType), semantic.Name(st))
				}
			}
			if (w.rows != 0 && p.RowCount != int64(w.rows)) || (w.cols != 0 && p.ColumnCount != int32(w.cols)) {
				t.Errorf("shape %d x %d, want %d x %d", p.RowCount, p.ColumnCount, w.rows, w.cols)
			}
			names := map[string]bool{}
			for _, c := range p.Columns {
				if names[c.Name] || c.Name == "" {
					t.Errorf("column name %q is empty or repeated", c.Name)
				}
				names[c.Name] = true
			}
			for name, v := range w.top {
				if c := column(t, p, name); len(c.TopValues) == 0 || c.TopValues[0].Value != v {
					t.Errorf("%s top values %v, want %q first", name, c.TopValues, v)
				}
			}
			for name, m := range w.missing {
				if c := column(t, p, name); c.MissingCount != m {
					t.Errorf("%s has %d missing, want %d", name, c.MissingCount, m)
				}
			}
			if len(w.multimodal) > 0 && !slices.ContainsFunc(w.multimodal, func(name string) bool { return column(t, p, name).GetNumeric().GetMultimodal() }) {
				t.Errorf("none of %v is flagged multimodal", w.multimodal)
			}
			for _, pair := range w.survive {
				if !slices.ContainsFunc(hyps, func(h *profilingv1.Hypothesis) bool {
					return h.Survived && slices.Contains(h.Columns, pair[0]) && slices.Contains(h.Columns, pair[1])
				}) {
					t.Errorf("no surviving hypothesis on %v", pair)
				}
			}
			for _, pair := range w.segments {
				if !slices.ContainsFunc(findings, func(fd *commonv1.Finding) bool {
					return strings.Contains(fd.Query, "AS segment") && slices.Equal(fd.Columns, pair[:])
				}) {
					t.Errorf("no segment finding for %v", pair)
				}
			}
			if w.maxCorrelations > 0 && len(p.Correlations) > w.maxCorrelations {
				t.Errorf("%d correlations, want at most %d", len(p.Correlations), w.maxCorrelations)
			}
			for _, a := range p.Alerts {
				if a.Kind == "scale_mismatch" || a.Kind == "change_point" {
					t.Logf("alert %s: %s", a.Kind, a.Message)
				}
			}
			t.Logf("%d rows x %d cols, %d alerts, %d hypotheses, %d findings", p.RowCount, p.ColumnCount, len(p.Alerts), len(hyps), len(findings))
		})
	}
}
