package causal

import (
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/frame/frametest"
)

// loadCSV reads a CSV into a frame (names nil: the first record is the header).
func loadCSV(t *testing.T, path string, names []string) *frame.Frame {
	t.Helper()
	return frametest.LoadCSV(t, path, names)
}
