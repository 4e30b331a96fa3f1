// Package frametest loads small CSV fixtures into frames for tests.
package frametest

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
)

// LoadCSV reads a CSV file into a frame. With names nil the first record is the header, otherwise
// names label the columns and every record is data. A column is numeric when every non-empty value
// parses as a number; empty and "NA" cells are missing.
func LoadCSV(tb testing.TB, path string, names []string) *frame.Frame {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	header, body := names, recs
	if names == nil {
		if len(recs) == 0 {
			tb.Fatalf("%s: no header", path)
		}
		header, body = recs[0], recs[1:]
	}
	f := &frame.Frame{Rows: len(body)}
	for j, name := range header {
		f.Columns = append(f.Columns, column(name, j, body))
	}
	return f
}

func column(name string, j int, body [][]string) *frame.Column {
	missing := func(v string) bool { return v == "" || v == "NA" }
	numeric := true
	for _, r := range body {
		if v := r[j]; !missing(v) {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				numeric = false
				break
			}
		}
	}
	c := &frame.Column{Name: name, Null: make([]bool, len(body))}
	if numeric {
		c.Kind, c.F = frame.Float, make([]float64, len(body))
	} else {
		c.Kind, c.S = frame.String, make([]string, len(body))
	}
	for i, r := range body {
		v := r[j]
		c.Null[i] = missing(v)
		switch {
		case numeric && c.Null[i]:
			c.F[i] = math.NaN()
		case numeric:
			c.F[i], _ = strconv.ParseFloat(v, 64)
		default:
			c.S[i] = v
		}
	}
	return c
}
