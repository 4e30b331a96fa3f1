package pysandbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnavailable: without bubblewrap, or with an interpreter outside /usr, New refuses with the
// reason instead of ever running code unsandboxed.
func TestUnavailable(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no bubblewrap", Config{Bwrap: "/nonexistent/bwrap"}, "cannot start bubblewrap"},
		{"interpreter outside /usr", Config{Python: "/opt/python3"}, "must live under /usr"},
		{"missing interpreter", Config{Python: "/usr/bin/no-such-python"}, "is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.WorkDir = filepath.Join(t.TempDir(), "w")
			_, err := New(context.Background(), c.cfg)
			var ue *UnavailableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want UnavailableError containing %q", err, c.want)
			}
		})
	}
}
