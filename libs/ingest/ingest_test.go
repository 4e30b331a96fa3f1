//go:build duckdb_arrow

package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/shareddata"
)

func convert(t *testing.T, src string, opts Options) (*Result, string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out.parquet")
	res, err := Convert(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatalf("Convert(%s): %v", filepath.Base(src), err)
	}
	return res, dst
}

// query returns the first column of the first row of q, where t stands for the Parquet file.
func query(t *testing.T, parquet, q string) string {
	t.Helper()
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{ReadPaths: []string{parquet}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec(ctx, "CREATE VIEW t AS SELECT * FROM read_parquet("+duck.Literal(parquet)+")"); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := c.SQL().QueryRowContext(ctx, q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func col(t *testing.T, res *Result, name string) *datasetsv1.Column {
	t.Helper()
	for _, c := range res.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %q in %v", name, names(res))
	return nil
}

func names(res *Result) []string {
	var out []string
	for _, c := range res.Columns {
		out = append(out, c.Name)
	}
	return out
}

func hasRule(res *Result, column, rule string) int64 {
	for _, c := range res.Rules.Coercions {
		if c.Column == column && c.Rule == rule {
			return c.CellsChanged
		}
	}
	return -1
}

func boolLabels(res *Result, column string) *datasetsv1.BooleanLabels {
	for _, l := range res.Rules.BooleanLabels {
		if l.Column == column {
			return l
		}
	}
	return nil
}

type colWant struct {
	name     string
	physical string
	missing  int64 // -1: do not check
	semantic commonv1.SemanticType
}

// TestCorpus converts every shared file and checks shape, types and key values.
func TestCorpus(t *testing.T) {
	t.Parallel()
	const (
		numeric = commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC
		ident   = commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER
		empty   = commonv1.SemanticType_SEMANTIC_TYPE_EMPTY
		boolean = commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN
		dtime   = commonv1.SemanticType_SEMANTIC_TYPE_DATETIME
		any     = commonv1.SemanticType_SEMANTIC_TYPE_UNSPECIFIED
	)
	cases := []struct {
		file       string
		rows, cols int64
		header     bool
		cols2      []colWant
		check      func(t *testing.T, res *Result, pq string)
		wantErr    error
		wantMsg    string
	}{
		{file: "tabular/telco_churn.csv", rows: 7043, cols: 21, header: true, cols2: []colWant{
			{"TotalCharges", "double", 11, numeric}, {"customerID", "string", 0, ident},
			{"tenure", "int64", 0, numeric}, {"Churn", "bool", 0, boolean},
		}, check: func(t *testing.T, res *Result, pq string) {
			if n := hasRule(res, "TotalCharges", "blank_to_null"); n != 11 {
				t.Errorf("TotalCharges blank_to_null = %d, want 11", n)
			}
			if v := query(t, pq, `SELECT count(*) FILTER (Churn) FROM t`); v != "1869" {
				t.Errorf("churners = %s, want 1869", v)
			}
			if l := boolLabels(res, "Churn"); l == nil || l.TrueLabel != "Yes" || l.FalseLabel != "No" {
				t.Errorf("Churn labels = %v, want Yes/No", l)
			}
			if l := boolLabels(res, "Partner"); l == nil || l.TrueLabel != "Yes" || l.FalseLabel != "No" {
				t.Errorf("Partner labels = %v, want Yes/No", l)
			}
		}},
		{file: "tabular/titanic.csv", rows: 891, cols: 15, header: true, cols2: []colWant{{"age", "double", 177, numeric}, {"survived", "int64", 0, any}}},
		{file: "tabular/diamonds.csv", rows: 53940, cols: 10, header: true, cols2: []colWant{{"price", "int64", 0, numeric}, {"carat", "double", 0, numeric}, {"cut", "string", 0, any}}},
		{file: "tabular/penguins.csv", rows: 344, cols: 7, header: true, cols2: []colWant{{"body_mass_g", "int64", 2, numeric}, {"sex", "string", 11, any}}},
		{file: "tabular/tips.csv", rows: 244, cols: 7, header: true},
		{file: "tabular/taxis.csv", rows: 6433, cols: 14, header: true, cols2: []colWant{{"pickup", "timestamp[us]", 0, dtime}, {"dropoff", "timestamp[us]", 0, dtime}}},
		{file: "tabular/flights.csv", rows: 144, cols: 3, header: true},
		{file: "tabular/dowjones.csv", rows: 649, cols: 2, header: true, cols2: []colWant{{"Date", "timestamp[us]", 0, dtime}, {"Price", "double", 0, numeric}}},
		{file: "tabular/healthexp.csv", rows: 274, cols: 4, header: true},
		{file: "tabular/mpg.csv", rows: 398, cols: 9, header: true, cols2: []colWant{{"horsepower", "double", 6, numeric}, {"name", "string", 0, any}}},
		{file: "tabular/iris.csv", rows: 150, cols: 5, header: true},
		{file: "causal/ihdp_1.csv", rows: 747, cols: 30, header: false, cols2: []colWant{{"col_1", "int64", 0, any}, {"col_2", "double", 0, numeric}}},
		{file: "causal/lalonde.csv", rows: 614, cols: 10, header: true, cols2: []colWant{{"treat", "int64", 0, any}, {"re78", "double", 0, numeric}}},
		{file: "causal/nhefs.csv", rows: 1629, cols: 68, header: true, cols2: []colWant{{"wt82", "double", 63, numeric}, {"qsmk", "int64", 0, any}}},
		{file: "causal/nsw_experimental.csv", rows: 445, cols: 12, header: true, cols2: []colWant{{"rownames", "int64", 0, ident}, {"age", "int64", 0, numeric}}},
		{file: "messy/all_null_column.csv", rows: 200, cols: 4, header: true, cols2: []colWant{{"empty_col", "string", 200, empty}, {"score", "int64", 0, numeric}}},
		{file: "messy/numeric_with_placeholders.csv", rows: 300, cols: 2, header: true, cols2: []colWant{{"x", "double", 18, numeric}}},
		{file: "messy/mixed_types.csv", rows: 120, cols: 2, header: true, cols2: []colWant{{"month", "string", 0, any}, {"value", "int64", 0, numeric}}, check: func(t *testing.T, res *Result, pq string) {
			if v := query(t, pq, `SELECT count(DISTINCT month) FILTER (month = '2021-03') FROM t`); v != "1" {
				t.Errorf("2021-03 lost: %s", v)
			}
		}},
		{file: "messy/semicolon_decimal_comma_latin1.csv", rows: 150, cols: 4, header: true, cols2: []colWant{
			{"surface_km2", "double", 0, numeric}, {"population", "int64", 0, numeric}, {"région", "string", 0, any},
		}, check: func(t *testing.T, res *Result, pq string) {
			if res.Rules.Delimiter != ";" || res.Rules.Encoding != EncLatin1 || res.Rules.DecimalSeparator != "," {
				t.Errorf("rules = %v", res.Rules)
			}
			if v := query(t, pq, `SELECT surface_km2 FROM t WHERE ville = 'Saint-Étienne-0'`); v != "131.83" {
				t.Errorf("surface_km2 of Saint-Étienne-0 = %q, want 131.83", v)
			}
			if v := query(t, pq, `SELECT "région" FROM t LIMIT 1`); v != "Île-de-France" {
				t.Errorf("région = %q", v)
			}
			if hasRule(res, "surface_km2", "decimal_comma") != 150 {
				t.Errorf("decimal_comma rule missing: %v", res.Rules.Coercions)
			}
		}},
		{file: "messy/utf16_bom_tabs.tsv", rows: 100, cols: 3, header: true, cols2: []colWant{{"length_cm", "int64", 0, numeric}, {"category", "string", 0, any}}, check: func(t *testing.T, res *Result, pq string) {
			if res.Rules.Encoding != EncUTF16LE || res.Rules.Delimiter != "\t" || res.Rules.Format != FormatTSV {
				t.Errorf("rules = %v", res.Rules)
			}
			if v := query(t, pq, `SELECT category FROM t WHERE name = 'item0'`); v != "センチ" {
				t.Errorf("category = %q", v)
			}
		}},
		{file: "messy/stray_quote_crlf.csv", rows: 300, cols: 3, header: true, cols2: []colWant{{"price", "double", 0, numeric}, {"id", "int64", 0, any}}, check: func(t *testing.T, res *Result, pq string) {
			if v := query(t, pq, `SELECT title FROM t WHERE id = 256`); v != `12" pipe "heavy" grade` {
				t.Errorf("title 256 = %q", v)
			}
			if v := query(t, pq, `SELECT price FROM t WHERE id = 257`); v != "385.5" {
				t.Errorf("price 257 = %q (shifted column?)", v)
			}
		}},
		{file: "messy/mixed_date_formats.csv", rows: 180, cols: 2, header: true, cols2: []colWant{{"when", "timestamp[us, tz=UTC]", 0, dtime}, {"amount", "int64", 0, numeric}}, check: func(t *testing.T, res *Result, pq string) {
			for _, c := range []struct{ q, want string }{
				{`SELECT strftime("when", '%Y-%m-%d') FROM t WHERE amount = 1`, "2023-01-02"},       // 01/02/2023, m/d/Y
				{`SELECT strftime("when", '%Y-%m-%d') FROM t WHERE amount = 2`, "2023-01-03"},       // 03.01.2023, d.m.Y
				{`SELECT strftime("when", '%Y-%m-%d %H') FROM t WHERE amount = 4`, "2023-01-05 08"}, // +02:00
				{`SELECT strftime("when", '%Y-%m-%d') FROM t WHERE amount = 5`, "2023-01-06"},       // Jan 6 2023
				{`SELECT count(*) FROM t WHERE "when" < '2023-01-01' OR "when" > '2023-01-29'`, "0"},
			} {
				if v := query(t, pq, c.q); v != c.want {
					t.Errorf("%s = %q, want %q", c.q, v, c.want)
				}
			}
			if hasRule(res, "when", "parse_datetime") != 180 {
				t.Errorf("parse_datetime rule: %v", res.Rules.Coercions)
			}
		}},
		{file: "messy/constant_and_string_target.csv", rows: 500, cols: 4, header: true, cols2: []colWant{{"const_nan", "int64", -1, numeric}, {"label", "bool", 0, boolean}}, check: func(t *testing.T, res *Result, pq string) {
			if l := boolLabels(res, "label"); l == nil || l.TrueLabel != "yes" || l.FalseLabel != "no" {
				t.Errorf("label labels = %v, want yes/no", l)
			}
		}},
		{file: "messy/duplicate_headers_ragged.csv", rows: 200, cols: 6, header: true, check: func(t *testing.T, res *Result, pq string) {
			want := []string{"a", "b", "a_2", "col_4", "c", "col_6"}
			if got := names(res); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("names = %v, want %v", got, want)
			}
			if c := res.Columns[2]; c.OriginalName != "a" {
				t.Errorf("a_2 original = %q", c.OriginalName)
			}
			// The header "a,b,a,,c," has 6 fields; 4 rows (lines 2, 52, 102, 152) have a 6th value.
			want = []string{
				`column name "a" appears twice (columns 1 and 3); the second is read as a_2`,
				"column 4 has no header name; named col_4",
				"column 6 has no header name (the header line ends with a delimiter); named col_6",
				"col_6 (no header name) has a value in only 4 of 200 rows, first at line 2: check those rows for an extra field or a stray delimiter",
			}
			if got := strings.Join(res.Warnings, "\n"); got != strings.Join(want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
			if v := query(t, pq, `SELECT count(col_6) FROM t`); v != "4" {
				t.Errorf("extra fields kept = %s, want 4", v)
			}
		}},
		{file: "messy/embedded_newlines.csv", rows: 100, cols: 3, header: true, check: func(t *testing.T, res *Result, pq string) {
			if v := query(t, pq, `SELECT comment FROM t WHERE id = 3`); v != "line one, still one\nline two of 3" {
				t.Errorf("comment = %q", v)
			}
		}},
		{file: "messy/header_only.csv", wantErr: ErrEmpty, wantMsg: "no rows"},
		{file: "messy/empty.csv", wantErr: ErrEmpty, wantMsg: "empty file"},
		{file: "messy/very_wide_2000_cols.csv", rows: 50, cols: 2000, header: true},
		{file: "messy/leading_zero_ids.csv", rows: 1000, cols: 3, header: true, cols2: []colWant{{"zip", "string", 0, any}, {"customer", "string", 0, ident}, {"spend", "double", 0, numeric}}, check: func(t *testing.T, res *Result, pq string) {
			if v := query(t, pq, `SELECT zip FROM t WHERE customer = 'C48681863'`); v != "06551" {
				t.Errorf("zip = %q, want 06551", v)
			}
			if hasRule(res, "zip", "keep_leading_zeros") <= 0 {
				t.Errorf("keep_leading_zeros not reported: %v", res.Rules.Coercions)
			}
		}},
		{file: "messy/currency_thousands.csv", rows: 200, cols: 3, header: true, cols2: []colWant{{"revenue", "int64", 0, numeric}, {"share", "int64", 0, numeric}}, check: func(t *testing.T, res *Result, pq string) {
			if v := query(t, pq, `SELECT revenue FROM t WHERE product = 'p0'`); v != "9039820" {
				t.Errorf("revenue = %q", v)
			}
			if v := query(t, pq, `SELECT share FROM t WHERE product = 'p1'`); v != "88" {
				t.Errorf("share = %q", v)
			}
			for _, r := range []struct{ c, rule string }{{"revenue", "currency"}, {"revenue", "thousands_separator"}, {"share", "percent"}} {
				if hasRule(res, r.c, r.rule) != 200 {
					t.Errorf("%s %s not reported: %v", r.c, r.rule, res.Rules.Coercions)
				}
			}
		}},
	}
	// Every file in the shared folders must be covered.
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.file] = true
	}
	for _, dir := range []string{"tabular", "causal", "messy"} {
		ents, err := os.ReadDir(filepath.Dir(shareddata.Path(t, dir+"/../README.md")) + "/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".md") && !covered[dir+"/"+e.Name()] {
				t.Errorf("shared file %s/%s has no corpus case", dir, e.Name())
			}
		}
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			src := shareddata.Path(t, tc.file)
			dst := filepath.Join(t.TempDir(), "out.parquet")
			res, err := Convert(context.Background(), src, dst, Options{Threads: 1})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
				}
				if _, err := os.Stat(dst); !os.IsNotExist(err) {
					t.Errorf("destination written on failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.RowCount != tc.rows || int64(len(res.Columns)) != tc.cols {
				t.Fatalf("shape = %dx%d, want %dx%d", res.RowCount, len(res.Columns), tc.rows, tc.cols)
			}
			if res.Rules.Header != tc.header {
				t.Errorf("header = %v, want %v", res.Rules.Header, tc.header)
			}
			if got := query(t, dst, "SELECT count(*) FROM t"); got != itoa(tc.rows) {
				t.Errorf("parquet rows = %s", got)
			}
			for _, w := range tc.cols2 {
				c := col(t, res, w.name)
				if c.PhysicalType != w.physical {
					t.Errorf("%s physical = %s, want %s", w.name, c.PhysicalType, w.physical)
				}
				if w.missing >= 0 && c.MissingCount != w.missing {
					t.Errorf("%s missing = %d, want %d", w.name, c.MissingCount, w.missing)
				}
				if w.semantic != any && c.SemanticType != w.semantic {
					t.Errorf("%s semantic = %s, want %s", w.name, c.SemanticType, w.semantic)
				}
			}
			if tc.check != nil {
				tc.check(t, res, dst)
			}
			// The temporary folder is gone.
			if m, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".ingest-*")); len(m) > 0 {
				t.Errorf("temporary files left: %v", m)
			}
		})
	}
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func compressFile(t *testing.T, src, dst, kind string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	var w io.WriteCloser
	if kind == "gzip" {
		w = gzip.NewWriter(out)
	} else {
		w, err = zstd.NewWriter(out)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.Copy(w, in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCompressed(t *testing.T) {
	t.Parallel()
	src := shareddata.Path(t, "tabular/telco_churn.csv")
	for _, kind := range []string{"gzip", "zstd"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "telco.csv.z")
			compressFile(t, src, p, kind)
			res, _ := convert(t, p, Options{})
			if res.RowCount != 7043 || len(res.Columns) != 21 || res.Rules.Compression != kind {
				t.Fatalf("got %dx%d compression %q", res.RowCount, len(res.Columns), res.Rules.Compression)
			}
			if c := col(t, res, "TotalCharges"); c.PhysicalType != "double" || c.MissingCount != 11 {
				t.Errorf("TotalCharges = %v", c)
			}
		})
	}
	// Latin-1 inside gzip: both layers are undone.
	p := filepath.Join(t.TempDir(), "fr.csv.gz")
	compressFile(t, shareddata.Path(t, "messy/semicolon_decimal_comma_latin1.csv"), p, "gzip")
	if res, _ := convert(t, p, Options{}); res.Rules.Encoding != EncLatin1 || res.RowCount != 150 {
		t.Errorf("gzip latin-1: %v rows %d", res.Rules, res.RowCount)
	}
}

func TestZipBomb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, kind := range []string{"gzip", "zstd"} {
		p := filepath.Join(dir, "bomb."+kind)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		var w io.WriteCloser
		if kind == "gzip" {
			w, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		} else {
			w, _ = zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest))
		}
		zeros := make([]byte, 1<<20)
		for i := 0; i < 512; i++ { // 512 MiB of zeros, streamed
			if _, err := w.Write(zeros); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		f.Close()
		st, _ := os.Stat(p)
		_, err = Convert(context.Background(), p, filepath.Join(dir, "out.parquet"), Options{MaxDecompressedBytes: 8 << 20})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "8388608") {
			t.Fatalf("%s bomb (%d bytes compressed): err = %v, want ErrTooLarge naming the limit", kind, st.Size(), err)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".ingest-*")); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range garbage {
		garbage[i] = byte(r.IntN(256))
	}
	cases := []struct {
		name string
		data []byte
		opts Options
		want error
		msg  string
	}{
		{"garbage.bin", garbage, Options{}, ErrUnsupported, "binary"},
		{"sheet.xlsx", append([]byte("PK\x03\x04"), garbage[:100]...), Options{}, ErrUnsupported, "ZIP"},
		{"blank.csv", []byte("\n\n   \n"), Options{}, ErrEmpty, "whitespace"},
		{"empty.gz", gzipBytes(t, nil), Options{}, ErrEmpty, "0 bytes"},
		{"fake.parquet", []byte("a,b\n1,2\n"), Options{Format: "parquet"}, ErrCorrupt, "magic"},
		{"x.csv", []byte("a,b\n1,2\n"), Options{Format: "xls"}, ErrInvalidOption, "format"},
		{"y.csv", []byte("a,b\n1,2\n"), Options{Encoding: "ebcdic"}, ErrInvalidOption, "encoding"},
		{"z.csv", []byte("a,b\n1,2\n"), Options{Delimiter: "::"}, ErrInvalidOption, "delimiter"},
	}
	for _, c := range cases {
		_, err := Convert(context.Background(), write(c.name, c.data), filepath.Join(dir, "out.parquet"), c.opts)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.want, c.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.parquet")); !os.IsNotExist(err) {
		t.Error("destination written by a refused conversion")
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var sb strings.Builder
	w := gzip.NewWriter(&sb)
	w.Write(b)
	w.Close()
	return []byte(sb.String())
}

func TestOptionsAndFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	no := false
	t.Run("header override and null values", func(t *testing.T) {
		res, pq := convert(t, write("h.csv", "1,2\n3,xx\n5,6\n"), Options{Header: &no, NullValues: []string{"xx"}})
		if res.RowCount != 3 || res.Rules.Header {
			t.Fatalf("rows %d header %v", res.RowCount, res.Rules.Header)
		}
		if c := col(t, res, "col_2"); c.PhysicalType != "int64" || c.MissingCount != 1 {
			t.Errorf("col_2 = %v", c)
		}
		if v := query(t, pq, "SELECT sum(col_1) FROM t"); v != "9" {
			t.Errorf("sum = %s", v)
		}
	})
	t.Run("delimiter override", func(t *testing.T) {
		res, _ := convert(t, write("p.txt", "a|b\n1|x,y\n2|z\n"), Options{Delimiter: "|"})
		if res.Rules.Delimiter != "|" || len(res.Columns) != 2 || res.RowCount != 2 {
			t.Fatalf("rules %v cols %d", res.Rules, len(res.Columns))
		}
	})
	t.Run("utf-8 bom and booleans", func(t *testing.T) {
		res, pq := convert(t, write("b.csv", "\ufeffname,ok,when\nx,Y,2024-01-02 03:04:05\ny,n,\nz,TRUE,2024-02-03\n"), Options{})
		if res.Columns[0].Name != "name" {
			t.Errorf("BOM not stripped: %q", res.Columns[0].Name)
		}
		if c := col(t, res, "ok"); c.PhysicalType != "bool" {
			t.Errorf("ok = %v", c)
		}
		if v := query(t, pq, "SELECT count(*) FILTER (ok) FROM t"); v != "2" {
			t.Errorf("true count = %s", v)
		}
		if c := col(t, res, "when"); c.PhysicalType != "timestamp[us]" || c.MissingCount != 1 {
			t.Errorf("when = %v", c)
		}
	})
	t.Run("ambiguous day month stays text", func(t *testing.T) {
		res, _ := convert(t, write("d.csv", "d\n01/02/2023\n03/04/2023\n05/06/2023\n"), Options{})
		if c := col(t, res, "d"); c.PhysicalType != "string" || len(res.Warnings) == 0 {
			t.Errorf("d = %v warnings %v", c, res.Warnings)
		}
	})
	t.Run("json array", func(t *testing.T) {
		res, pq := convert(t, write("a.json", `[{"a": 1, "b": "x"}, {"a": 2, "b": null}]`), Options{})
		if res.Rules.Format != FormatJSON || res.RowCount != 2 || col(t, res, "b").MissingCount != 1 {
			t.Fatalf("rules %v rows %d", res.Rules, res.RowCount)
		}
		if v := query(t, pq, "SELECT sum(a) FROM t"); v != "3" {
			t.Errorf("sum = %s", v)
		}
	})
	t.Run("nested json values", func(t *testing.T) {
		// Objects and lists become their JSON text with a warning naming the column (column
		// statistics failed casting a STRUCT to DOUBLE: "Unimplemented type for cast").
		res, pq := convert(t, write("n.json", `[{"a":1,"b":{"nested":[1,2]},"c":[1,2,3]},{"a":2,"b":null,"c":[]}]`), Options{})
		if res.RowCount != 2 || col(t, res, "b").PhysicalType != "string" || col(t, res, "c").PhysicalType != "string" || col(t, res, "a").PhysicalType != "int64" {
			t.Fatalf("rows %d cols %v", res.RowCount, res.Columns)
		}
		if v := query(t, pq, "SELECT b || ' ' || c FROM t WHERE a = 1"); v != `{"nested":[1,2]} [1,2,3]` {
			t.Errorf("JSON text = %s", v)
		}
		w := strings.Join(res.Warnings, "\n")
		if !strings.Contains(w, "column b holds nested values (objects): stored as JSON text") || !strings.Contains(w, "column c holds nested values (lists)") {
			t.Errorf("warnings %v", res.Warnings)
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		res, _ := convert(t, write("a.ndjson", "{\"a\": 1.5}\n{\"a\": 2}\n{\"a\": 3}\n"), Options{})
		if res.Rules.Format != FormatNDJSON || res.RowCount != 3 || col(t, res, "a").PhysicalType != "double" {
			t.Fatalf("rules %v rows %d cols %v", res.Rules, res.RowCount, res.Columns)
		}
	})
	t.Run("parquet", func(t *testing.T) {
		_, pq := convert(t, shareddata.Path(t, "tabular/iris.csv"), Options{})
		res, _ := convert(t, pq, Options{})
		if res.Rules.Format != FormatParquet || res.RowCount != 150 || len(res.Columns) != 5 {
			t.Fatalf("rules %v rows %d", res.Rules, res.RowCount)
		}
	})
	for _, stream := range []bool{false, true} {
		t.Run("arrow stream="+map[bool]string{false: "file", true: "stream"}[stream], func(t *testing.T) {
			p := writeArrow(t, dir, stream)
			res, pq := convert(t, p, Options{})
			if res.Rules.Format != FormatArrow || res.RowCount != 3000 || len(res.Columns) != 2 {
				t.Fatalf("rules %v rows %d cols %d", res.Rules, res.RowCount, len(res.Columns))
			}
			if v := query(t, pq, "SELECT sum(n) FROM t"); v != "4498500" {
				t.Errorf("sum = %s", v)
			}
			if c := col(t, res, "s"); c.MissingCount != 3 {
				t.Errorf("s missing = %d", c.MissingCount)
			}
		})
	}
	t.Run("progress and cancel", func(t *testing.T) {
		var fracs []float64
		res, _ := convert(t, shareddata.Path(t, "tabular/tips.csv"), Options{Progress: func(f float64, _ string) { fracs = append(fracs, f) }})
		if res.RowCount != 244 || len(fracs) < 3 || fracs[len(fracs)-1] != 1 {
			t.Errorf("progress = %v", fracs)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Convert(ctx, shareddata.Path(t, "tabular/tips.csv"), filepath.Join(t.TempDir(), "o.parquet"), Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: err = %v", err)
		}
	})
}

// writeArrow writes 3000 rows (n = 0..2999, s with 3 nulls) in 3 batches as an IPC file or stream.
func writeArrow(t *testing.T, dir string, stream bool) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	p := filepath.Join(dir, map[bool]string{false: "x.arrow", true: "x.arrows"}[stream])
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(bw, ipc.WithSchema(schema))
	} else {
		fw, err := ipc.NewFileWriter(bw, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	for b := 0; b < 3; b++ {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < 1000; i++ {
			rb.Field(0).(*array.Int64Builder).Append(int64(b*1000 + i))
			if i == 0 {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.StringBuilder).Append("v")
			}
		}
		rec := rb.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	f.Close()
	return p
}
