package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/ingest"
)

func TestHidePaths(t *testing.T) {
	work := "/var/cache/vds/ingestion/ingest-1-2"
	src := work + "/source"
	err := fmt.Errorf("%w: Malformed JSON in file %q, at byte 12; see %s/tmp", ingest.ErrTooLarge, src, work)
	got := hidePaths(err, src, work)
	if msg := got.Error(); strings.Contains(msg, "/var/cache") || !strings.Contains(msg, `in file "the uploaded file"`) || !strings.Contains(msg, "see the work folder/tmp") {
		t.Errorf("message %q still names local paths", msg)
	}
	if !errors.Is(got, ingest.ErrTooLarge) {
		t.Errorf("the cause is lost: %v", got)
	}
	plain := errors.New("unsupported file: binary data")
	if hidePaths(plain, src, work) != plain {
		t.Errorf("an error without paths should pass through unchanged")
	}
}
