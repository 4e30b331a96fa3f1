package learn

import (
	"context"
	"strings"
	"testing"
	"time"
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
