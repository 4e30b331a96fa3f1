package glm

import (
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/frame/frametest"
)

// loadCSV reads a CSV with a header into a frame.
func loadCSV(t *testing.T, path string) *frame.Frame {
	t.Helper()
	return frametest.LoadCSV(t, path, nil)
}
