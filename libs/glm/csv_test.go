package glm

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
)

// loadCSV reads a CSV with a header into a frame: a column is numeric when every non-empty value
// parses as a number; empty and "NA" cells are missing.
func loadCSV(t *testing.T, path string) *frame.Frame {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, body := recs[0], recs[1:]
	f := &frame.Frame{Rows: len(body)}
	for j, name := range header {
		numeric := true
		for _, r := range body {
			if v := r[j]; v != "" && v != "NA" {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					numeric = false
					break
				}
			}
		}
		c := &frame.Column{Name: name, Null: make([]bool, len(body))}
		if numeric {
			c.Kind = frame.Float
			c.F = make([]float64, len(body))
		} else {
			c.Kind = frame.String
			c.S = make([]string, len(body))
		}
		for i, r := range body {
			v := r[j]
			missing := v == "" || v == "NA"
			c.Null[i] = missing
			switch {
			case numeric && missing:
				c.F[i] = math.NaN()
			case numeric:
				c.F[i], _ = strconv.ParseFloat(v, 64)
			default:
				c.S[i] = v
			}
		}
		f.Columns = append(f.Columns, c)
	}
	return f
}
