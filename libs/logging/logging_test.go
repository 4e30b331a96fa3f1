package logging

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range [][2]string{{"json", "info"}, {"text", "DEBUG"}, {"JSON", "warning"}, {"json", "error"}} {
		if err := Check(ok[0], ok[1]); err != nil {
			t.Errorf("Check(%q, %q): %v", ok[0], ok[1], err)
		}
	}
	if err := Check("json", "verbose"); err == nil || !strings.Contains(err.Error(), `--log-level must be one of debug, info, warn, error, not "verbose"`) {
		t.Errorf("bad level: %v", err)
	}
	if err := Check("yaml", "info"); err == nil || !strings.Contains(err.Error(), `--log-format must be json or text, not "yaml"`) {
		t.Errorf("bad format: %v", err)
	}
}

func TestLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "json", "warn")
	log.InfoContext(context.Background(), "quiet")
	log.WarnContext(context.Background(), "loud")
	if out := buf.String(); strings.Contains(out, "quiet") || !strings.Contains(out, `"msg":"loud"`) {
		t.Errorf("warn level output: %s", out)
	}
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Errorf("%d bytes, want 800", got)
	}
}
