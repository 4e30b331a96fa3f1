package profile

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

// naTokens are the cells the test loader reads as missing (as ingestion does).
var naTokens = map[string]bool{"": true, "na": true, "n/a": true, "nan": true, "null": true, "none": true, "?": true, "-": true}

// loadCSV reads a shared CSV into a frame: cells in naTokens (trimmed, any case) are missing; a
// column is numeric when every present cell parses as a float. With raw set, only empty cells are
// missing and every column stays text unless all cells parse.
func loadCSV(t testing.TB, rel string, raw bool) *frame.Frame {
	t.Helper()
	fh, err := os.Open(shareddata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	header, body := recs[0], recs[1:]
	f := &frame.Frame{Rows: len(body)}
	for j, name := range header {
		c := &frame.Column{Name: name, Kind: frame.Float}
		cells := make([]string, len(body))
		null := make([]bool, len(body))
		for i, rec := range body {
			if j < len(rec) {
				cells[i] = rec[j]
			}
			v := strings.TrimSpace(cells[i])
			null[i] = v == "" || (!raw && naTokens[strings.ToLower(v)])
		}
		nums := make([]float64, len(body))
		for i, v := range cells {
			if null[i] {
				nums[i] = math.NaN()
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				c.Kind = frame.String
				break
			}
			nums[i] = x
		}
		c.Null = null
		if c.Kind == frame.Float {
			c.F = nums
			c.ArrowType = "double"
		} else {
			c.S = cells
			c.ArrowType = "utf8"
		}
		f.Columns = append(f.Columns, c)
	}
	return f
}
