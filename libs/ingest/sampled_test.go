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

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/shareddata"
)

// parquetDigest is the md5 of every row of a Parquet file in file order, with its column types.
func parquetDigest(t *testing.T, pq string) string {
	t.Helper()
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{Threads: 1, ReadPaths: []string{pq}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var types, digest string
	if err := c.SQL().QueryRowContext(ctx, "SELECT string_agg(column_name || ' ' || column_type, ', ') FROM (DESCRIBE SELECT * FROM "+duck.ParquetScan(pq)+")").Scan(&types); err != nil {
		t.Fatal(err)
	}
	if err := c.SQL().QueryRowContext(ctx, "SELECT COALESCE(md5(string_agg(r::VARCHAR, chr(10) ORDER BY file_row_number)), '') FROM (SELECT r, file_row_number FROM "+duck.ParquetScan(pq, "file_row_number = true")+" r)").Scan(&digest); err != nil {
		t.Fatal(err)
	}
	return types + " / " + digest
}

// againstFull converts src with the sample path (opts) and with the full check, and fails unless
// both give the same Parquet rows, types, columns, warnings and read rules (typing aside).
func againstFull(t *testing.T, src string, opts Options) *Result {
	t.Helper()
	dir := t.TempDir()
	full := opts
	full.fullCheck = true
	fr, ferr := Convert(context.Background(), src, filepath.Join(dir, "full.parquet"), full)
	sr, serr := Convert(context.Background(), src, filepath.Join(dir, "sample.parquet"), opts)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
		t.Fatalf("%s: full check error %v, sample path error %v", filepath.Base(src), ferr, serr)
	}
	if ferr != nil {
		t.Logf("%s: both paths fail: %v", filepath.Base(src), ferr)
		return nil
	}
	if fr.Rules.Typing != typingFull || fr.Rules.TypingNote != "the full check was requested" {
		t.Errorf("%s: full check recorded typing %q (%q)", filepath.Base(src), fr.Rules.Typing, fr.Rules.TypingNote)
	}
	a, b := proto.Clone(fr.Rules).(*datasetsv1.ReadRules), proto.Clone(sr.Rules).(*datasetsv1.ReadRules)
	a.Typing, a.TypingNote, b.Typing, b.TypingNote = "", "", "", ""
	if !proto.Equal(a, b) {
		t.Errorf("%s: read rules differ\nfull:   %v\nsample: %v (typing %s: %s)", filepath.Base(src), a, b, sr.Rules.Typing, sr.Rules.TypingNote)
	}
	if fr.RowCount != sr.RowCount || len(fr.Columns) != len(sr.Columns) {
		t.Fatalf("%s: %d rows x %d columns (full) vs %d x %d (sample)", filepath.Base(src), fr.RowCount, len(fr.Columns), sr.RowCount, len(sr.Columns))
	}
	for i := range fr.Columns {
		if !proto.Equal(fr.Columns[i], sr.Columns[i]) {
			t.Errorf("%s: column %d: full %v, sample %v", filepath.Base(src), i, fr.Columns[i], sr.Columns[i])
		}
	}
	if strings.Join(fr.Warnings, "\n") != strings.Join(sr.Warnings, "\n") {
		t.Errorf("%s: warnings differ\nfull:   %q\nsample: %q", filepath.Base(src), fr.Warnings, sr.Warnings)
	}
	if f, s := parquetDigest(t, filepath.Join(dir, "full.parquet")), parquetDigest(t, filepath.Join(dir, "sample.parquet")); f != s {
		t.Errorf("%s: Parquet differs\nfull:   %s\nsample: %s", filepath.Base(src), f, s)
	}
	return sr
}

// TestSampledMatchesFullCheck runs every delimited corpus file through both paths with the normal
// sample, and requires identical results.
func TestSampledMatchesFullCheck(t *testing.T) {
	t.Parallel()
	sampled := corpusBothWays(t, 0)
	for _, k := range []string{"telco_churn.csv", "currency_thousands.csv", "tips.csv", "taxis.csv", "leading_zero_ids.csv"} {
		if !strings.HasPrefix(sampled[k], typingSample) {
			t.Errorf("%s: typing %q, want the sample path", k, sampled[k])
		}
	}
	// Decimal commas and dates in other forms are left to the full check.
	for _, k := range []string{"semicolon_decimal_comma_latin1.csv", "mixed_date_formats.csv"} {
		if !strings.HasPrefix(sampled[k], typingFull) {
			t.Errorf("%s: typing %q, want the full check", k, sampled[k])
		}
	}
}

// TestSampledSmallSampleMatchesFullCheck: the same with a 40-row sample, so that most files are
// longer than their sample and the strict conversion, its refusals and the full counts are
// exercised.
func TestSampledSmallSampleMatchesFullCheck(t *testing.T) {
	t.Parallel()
	sampled := corpusBothWays(t, 40)
	for _, k := range []string{"iris.csv", "currency_thousands.csv", "leading_zero_ids.csv", "dowjones.csv", "taxis.csv", "penguins.csv"} {
		if !strings.HasPrefix(sampled[k], typingSample) {
			t.Errorf("%s: typing %q, want the sample path", k, sampled[k])
		}
	}
	// A blank first seen after the sample, and an integer column with a later fraction.
	for _, k := range []string{"telco_churn.csv", "diamonds.csv"} {
		if !strings.HasPrefix(sampled[k], typingFull) {
			t.Errorf("%s: typing %q, want the full check", k, sampled[k])
		}
	}
}

// corpusBothWays runs againstFull on every delimited corpus file and returns each one's typing.
func corpusBothWays(t *testing.T, rows int) map[string]string {
	sampled := map[string]string{}
	for _, dir := range []string{"tabular", "causal", "messy"} {
		ents, err := os.ReadDir(filepath.Dir(shareddata.Path(t, dir+"/../README.md")) + "/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasSuffix(name, ".csv") && !strings.HasSuffix(name, ".tsv") {
				continue
			}
			src := shareddata.Path(t, dir+"/"+name)
			if name == "very_wide_2000_cols.csv" {
				continue // wider than sampleMaxColumns: TestSampledWideFileTakesFullCheck
			}
			t.Run(dir+"/"+name, func(t *testing.T) {
				res := againstFull(t, src, Options{Threads: 1, sampleRows: rows})
				if res != nil {
					sampled[name] = res.Rules.Typing + " " + res.Rules.TypingNote
				}
			})
		}
	}
	t.Logf("typing per file: %v", sampled)
	return sampled
}

// TestSampledLateSurprises: cells after the sample that the sample did not foresee send the file
// to the full check (nothing is mangled), and the ones it did foresee are counted exactly.
func TestSampledLateSurprises(t *testing.T) {
	t.Parallel()
	const n = 300 // rows; the sample is the first 50
	gen := func(head string, row func(i int) string) string {
		var b strings.Builder
		b.WriteString(head + "\n")
		for i := 0; i < n; i++ {
			b.WriteString(row(i) + "\n")
		}
		return b.String()
	}
	late := func(i int, at int, v, normal string) string {
		if i == at {
			return v
		}
		return normal
	}
	cases := []struct {
		name, csv string
		typing    string
		check     func(t *testing.T, res *Result)
	}{
		{"leading zero in an integer column", gen("id,code", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 200, "007", fmt.Sprint(100+i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if c := col(t, res, "code"); c.PhysicalType != "string" || hasRule(res, "code", "keep_leading_zeros") != 1 {
				t.Errorf("code: %s, keep_leading_zeros %d; want text with 007 kept", c.PhysicalType, hasRule(res, "code", "keep_leading_zeros"))
			}
		}},
		{"NA first seen after the sample", gen("id,x", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 120, "NA", fmt.Sprint(i*3)))
		}), typingFull, func(t *testing.T, res *Result) {
			if c := col(t, res, "x"); c.PhysicalType != "int64" || c.MissingCount != 1 || hasRule(res, "x", "placeholder_to_null") != 1 {
				t.Errorf("x: %s missing %d placeholder_to_null %d; want int64, 1, 1", c.PhysicalType, c.MissingCount, hasRule(res, "x", "placeholder_to_null"))
			}
		}},
		{"NA and empty cells in and after the sample", gen("id,x", func(i int) string {
			v := fmt.Sprintf("%d.5", i)
			switch {
			case i%7 == 0:
				v = "NA"
			case i%11 == 0:
				v = ""
			case i == 250:
				v = " na "
			}
			return fmt.Sprintf("%d,%s", i, v)
		}), typingSample, func(t *testing.T, res *Result) {
			var na, empty int64
			for i := 0; i < n; i++ {
				switch {
				case i%7 == 0 || i == 250:
					na++
				case i%11 == 0:
					empty++
				}
			}
			if c := col(t, res, "x"); c.PhysicalType != "double" || c.MissingCount != na+empty || hasRule(res, "x", "placeholder_to_null") != na {
				t.Errorf("x: %s missing %d placeholder_to_null %d; want double, %d, %d", c.PhysicalType, c.MissingCount, hasRule(res, "x", "placeholder_to_null"), na+empty, na)
			}
		}},
		{"a fraction in an integer column", gen("id,x", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 280, "1.5", fmt.Sprint(i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if c := col(t, res, "x"); c.PhysicalType != "double" {
				t.Errorf("x: %s, want double", c.PhysicalType)
			}
		}},
		{"NaN in an integer column", gen("id,x", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 99, "NaN", fmt.Sprint(i)))
		}), typingFull, nil},
		{"currency first seen after the sample", gen("id,price", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 150, "\"$1,234.50\"", fmt.Sprintf("%d.25", i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if hasRule(res, "price", "currency") != 1 || hasRule(res, "price", "thousands_separator") != 1 {
				t.Errorf("price rules %v", res.Rules.Coercions)
			}
		}},
		{"currency throughout, other symbols later", gen("id,price", func(i int) string {
			v := fmt.Sprintf("\"$%d,%03d.%02d\"", 1+i%9, i, i%100)
			switch i {
			case 10, 102:
				v = "12%"
			case 20, 103:
				v = "999"
			case 30, 100:
				v = "€5"
			case 101:
				v = "$ 7"
			}
			return fmt.Sprintf("%d,%s", i, v)
		}), typingSample, func(t *testing.T, res *Result) {
			if hasRule(res, "price", "currency") != n-4 || hasRule(res, "price", "thousands_separator") != n-7 || hasRule(res, "price", "percent") != 2 {
				t.Errorf("price rules %v", res.Rules.Coercions)
			}
		}},
		{"a percent sign first seen after the sample", gen("id,price", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 120, "12%", fmt.Sprintf("\"$%d,%03d\"", 1+i%9, i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if hasRule(res, "price", "percent") != 1 || hasRule(res, "price", "currency") != n-1 {
				t.Errorf("price rules %v", res.Rules.Coercions)
			}
		}},
		{"a number without a currency symbol after the sample", gen("id,price", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 120, "7", fmt.Sprintf("$%d", i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if hasRule(res, "price", "currency") != n-1 {
				t.Errorf("price rules %v", res.Rules.Coercions)
			}
		}},
		{"empty cells first seen after placeholders", gen("id,x", func(i int) string {
			v := fmt.Sprint(i)
			switch {
			case i%9 == 0:
				v = "NA"
			case i == 200:
				v = ""
			}
			return fmt.Sprintf("%d,%s", i, v)
		}), typingFull, func(t *testing.T, res *Result) {
			if hasRule(res, "x", "placeholder_to_null") != 34 || col(t, res, "x").MissingCount != 35 {
				t.Errorf("x rules %v, missing %d", res.Rules.Coercions, col(t, res, "x").MissingCount)
			}
		}},
		{"another boolean spelling later", gen("id,ok", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 77, "TRUE", []string{"yes", "no"}[i%2]))
		}), typingFull, nil},
		{"a date in another format later", gen("id,d", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 222, "03/04/2023", fmt.Sprintf("2023-01-%02d", 1+i%28)))
		}), typingFull, nil},
		{"a text placeholder first seen after the sample", gen("id,name", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 140, "N/A", fmt.Sprintf("name %d", i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if hasRule(res, "name", "placeholder_to_null") != 1 {
				t.Errorf("name rules %v", res.Rules.Coercions)
			}
		}},
		{"padded text placeholders and blanks after ones in the sample", gen("id,name,zip", func(i int) string {
			v := fmt.Sprintf("name %d", i)
			switch {
			case i%13 == 0:
				v = "NA"
			case i == 260:
				v = "  NA "
			case i%17 == 0:
				v = "   "
			case i%19 == 0:
				v = ""
			}
			return fmt.Sprintf("%d,%s,%05d", i, v, i*37)
		}), typingSample, func(t *testing.T, res *Result) {
			var ph, blank int64
			for i := 0; i < n; i++ {
				switch {
				case i%13 == 0 || i == 260:
					ph++
				case i%17 == 0:
					blank++
				}
			}
			if hasRule(res, "name", "placeholder_to_null") != ph || hasRule(res, "name", "blank_to_null") != blank {
				t.Errorf("name rules %v; want %d placeholders, %d blanks", res.Rules.Coercions, ph, blank)
			}
			if c := col(t, res, "zip"); c.PhysicalType != "string" || hasRule(res, "zip", "keep_leading_zeros") < 200 {
				t.Errorf("zip: %s, rules %v", c.PhysicalType, res.Rules.Coercions)
			}
		}},
		{"a ragged row after the sample", gen("a,b", func(i int) string {
			return late(i, 180, "5", fmt.Sprintf("%d,%d", i, i))
		}), typingFull, nil},
		{"a large integer after the sample", gen("id,x", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 180, "9007199254740993", fmt.Sprint(i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if c := col(t, res, "x"); c.PhysicalType != "double" {
				t.Errorf("x: %s, want double (as the full check reads it)", c.PhysicalType)
			}
		}},
		// The conversion's cheap fronts (a canonical integer; a money cell of the sample's form)
		// must leave every other cell to the general expression: same result as the full check
		// whichever path ends up converting (typing "" = either).
		{"integers written unusually after the sample", gen("id,x", func(i int) string {
			v := fmt.Sprint(i * 7)
			switch i {
			case 100:
				v = "+5"
			case 110:
				v = "-0"
			case 120:
				v = "1_000"
			case 130:
				v = "0x10"
			case 140:
				v = "\" 12\""
			case 150:
				v = "-42"
			}
			return fmt.Sprintf("%d,%s", i, v)
		}), "", nil},
		{"money of another form after the sample", gen("id,price", func(i int) string {
			v := fmt.Sprintf("\"$%d,%03d.%02d\"", 1+i%9, i, i%100)
			switch i {
			case 100:
				v = "\"$1,23.50\""
			case 110:
				v = "\"-$1,234.50\""
			case 120:
				v = "\"$1,234\""
			case 130:
				v = "\"$1,234.\""
			case 140:
				v = "\"1,234.50$\""
			}
			return fmt.Sprintf("%d,%s", i, v)
		}), "", nil},
		{"whole money amounts, a huge one after the sample", gen("id,price", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 200, "\"$9,007,199,254,740,993\"", fmt.Sprintf("\"$%d,%03d\"", 1+i%9, i)))
		}), typingSample, func(t *testing.T, res *Result) {
			// The full check reads money integers as integers at any size (its 2^53 test casts
			// the raw text, which a currency sign makes NULL); the cheap front takes at most 15
			// digits and leaves this one to the general expression, which agrees.
			if c := col(t, res, "price"); c.PhysicalType != "int64" || hasRule(res, "price", "currency") != n {
				t.Errorf("price: %s, rules %v", c.PhysicalType, res.Rules.Coercions)
			}
		}},
		{"whole money amounts with a leading zero after the sample", gen("id,price", func(i int) string {
			return fmt.Sprintf("%d,%s", i, late(i, 200, "0123", fmt.Sprintf("\"%d,%03d\"", 1+i%9, i)))
		}), typingFull, func(t *testing.T, res *Result) {
			if c := col(t, res, "price"); c.PhysicalType != "string" || hasRule(res, "price", "keep_leading_zeros") != 1 {
				t.Errorf("price: %s, rules %v", c.PhysicalType, res.Rules.Coercions)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(src, []byte(tc.csv), 0o600); err != nil {
				t.Fatal(err)
			}
			res := againstFull(t, src, Options{Threads: 2, MemoryLimit: "256MB", sampleRows: 50})
			if res == nil {
				t.Fatal("the full check failed too")
			}
			t.Logf("typing %s %s", res.Rules.Typing, res.Rules.TypingNote)
			if tc.typing != "" && res.Rules.Typing != tc.typing {
				t.Errorf("typing %q (%s), want %q", res.Rules.Typing, res.Rules.TypingNote, tc.typing)
			}
			if tc.typing == typingFull && res.Rules.TypingNote == "" {
				t.Error("the fallback has no reason")
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// TestSampledWideFileTakesFullCheck: a file wider than sampleMaxColumns is not tried on the
// sample path (planning its conversion costs more than the full check).
func TestSampledWideFileTakesFullCheck(t *testing.T) {
	t.Parallel()
	res, _ := convert(t, shareddata.Path(t, "messy/very_wide_2000_cols.csv"), Options{})
	if res.Rules.Typing != typingFull || !strings.Contains(res.Rules.TypingNote, "2000 columns") {
		t.Errorf("typing %q (%s), want the full check for 2000 columns", res.Rules.Typing, res.Rules.TypingNote)
	}
	if len(res.Columns) != 2000 || res.RowCount != 50 {
		t.Errorf("%d columns x %d rows, want 2000 x 50", len(res.Columns), res.RowCount)
	}
}

// TestCopyMemoryLimit: the sample path's conversion gets a memory limit from its width and
// threads (DuckDB's 4 MiB per column per thread, a quarter of the limit for the batches written
// in order), at least copyMemoryFloor and below the configured limit, whatever the file's length.
func TestCopyMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cols, threads int
		configured    string
		want          string
		smaller       bool
	}{
		{9, 2, "384MB", "180MiB", true},  // the bench file: 4 MiB x 9 x (4 + 1)
		{9, 2, "", "180MiB", true},       // duck.DefaultMemoryLimit (1GB)
		{3, 2, "384MB", "160MiB", true},  // the floor
		{9, 1, "384MB", "160MiB", true},  // one thread: one batch, the floor
		{9, 4, "1GiB", "468MiB", true},   // 4 MiB x 9 x 13
		{30, 2, "384MB", "384MB", false}, // 600 MiB needed: the configured limit
		{9, 2, "128MB", "128MB", false},  // the floor is above the configured limit
		{9, 2, "180MiB", "180MiB", false},
		{9, 2, "80%", "80%", false}, // not a size
		{9, 2, "lots", "lots", false},
	} {
		got, smaller := copyMemoryLimit(c.cols, c.threads, c.configured)
		if got != c.want || smaller != c.smaller {
			t.Errorf("copyMemoryLimit(%d, %d, %q) = %q, %v; want %q, %v", c.cols, c.threads, c.configured, got, smaller, c.want, c.smaller)
		}
	}
	for s, want := range map[string]int64{"384MB": 384e6, "1GB": 1e9, "1.5 GiB": 3 << 29, "512kib": 512 << 10, "100B": 100, "2TB": 2e12} {
		if got, ok := parseByteSize(s); !ok || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "MB", "-1MB", "1 XB", "80%"} {
		if got, ok := parseByteSize(s); ok {
			t.Errorf("parseByteSize(%q) = %d, want no size", s, got)
		}
	}
}

// TestSampledCopyOutOfMemoryRetries: when the sized limit is too small for the conversion after
// all, it runs again with the configured limit and the file still takes the sample path, with
// the same result as the full check.
func TestSampledCopyOutOfMemoryRetries(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("id,price,segment,active,comment\n")
	for i := 0; i < 60000; i++ {
		fmt.Fprintf(&b, "%d,%d.%02d,%s,%s,note %d with some text to fill the buffers\n", i, i%977, i%100, []string{"alpha", "beta", "gamma"}[i%3], []string{"yes", "no"}[i%2], i)
	}
	src := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(src, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var retried []string
	res := againstFull(t, src, Options{Threads: 2, MemoryLimit: "256MB", copyMemory: "2MB",
		onCopyRetry: func(err error) { retried = append(retried, cleanErr(err)) }})
	if res == nil || res.Rules.Typing != typingSample {
		t.Fatalf("typing %v, want the sample path after the retry", res)
	}
	if len(retried) != 1 || !strings.Contains(retried[0], "Out of Memory") {
		t.Errorf("retries %q, want one after DuckDB's out-of-memory error", retried)
	}
	if res.RowCount != 60000 {
		t.Errorf("%d rows, want 60000", res.RowCount)
	}
}
