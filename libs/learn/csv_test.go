package learn

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

// readCSV is a test-only CSV reader: empty or blank cells are missing, a column is numeric when
// every non-missing cell parses as a float.
func readCSV(tb testing.TB, path string) *frame.Frame {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	header, body := recs[0], recs[1:]
	f := &frame.Frame{Rows: len(body)}
	for j, name := range header {
		c := &frame.Column{Name: name, Null: make([]bool, len(body))}
		numeric := true
		vals := make([]float64, len(body))
		for i, r := range body {
			s := strings.TrimSpace(r[j])
			if s == "" {
				c.Null[i] = true
				vals[i] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				numeric = false
			}
			vals[i] = v
		}
		if numeric {
			c.Kind, c.F, c.ArrowType = frame.Float, vals, "float64"
		} else {
			c.Kind, c.ArrowType = frame.String, "utf8"
			c.S = make([]string, len(body))
			for i, r := range body {
				if !c.Null[i] {
					c.S[i] = r[j]
				}
			}
		}
		f.Columns = append(f.Columns, c)
	}
	return f
}

func shared(tb testing.TB, rel string) *frame.Frame {
	return readCSV(tb, shareddata.Path(tb, rel))
}
