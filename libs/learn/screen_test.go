package learn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// TestBinaryTaskAdvice: a binary task on a target with more than two classes is refused with the
// task that fits: regression for a numeric target with many values (tips' tip, 123 values),
// multiclass for a few classes (penguins' species).
func TestBinaryTaskAdvice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, target, want string }{
		{"tabular/tips.csv", "tip", `target "tip" has 123 classes, not 2; for a numeric target with this many values use the regression task`},
		{"tabular/penguins.csv", "species", `target "species" has 3 classes, not 2; use the multiclass task`},
	} {
		_, err := AutoML(context.Background(), shared(t, tc.file), Options{Target: tc.target, Task: TaskBinary, Budget: time.Second})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
}

// TestNoFeaturesNamesDropped: when screening leaves no feature, the error names each dropped column
// and why (an identifier and a constant column beside the target).
func TestNoFeaturesNamesDropped(t *testing.T) {
	t.Parallel()
	n := 200
	id := &frame.Column{Name: "customer", Kind: frame.String, Null: make([]bool, n)}
	flat := &frame.Column{Name: "flat", Kind: frame.Float, Null: make([]bool, n)}
	y := &frame.Column{Name: "spend", Kind: frame.Float, Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		id.S = append(id.S, fmt.Sprintf("C%06d", i))
		flat.F = append(flat.F, 1)
		y.F = append(y.F, float64(i%17))
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{id, flat, y}}
	_, err := AutoML(context.Background(), f, Options{Target: "spend", Budget: time.Second})
	if err == nil || !strings.Contains(err.Error(), `no usable feature columns remain for target "spend": every other column was dropped: `) ||
		!strings.Contains(err.Error(), "customer (") || !strings.Contains(err.Error(), "flat (") {
		t.Errorf("err = %v, want the dropped columns named with their reasons", err)
	}
}
