package mesh

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/logging"
)

// A service that cannot start makes Up fail at once with that service's own reason.
func TestUpReportsTheStartError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Up(ctx, Options{Home: t.TempDir(), DatabaseURL: "mysql://nowhere/db", Log: logging.New(io.Discard, "json", "error")})
	if err == nil {
		t.Fatal("Up succeeded with an unsupported database URL")
	}
	if !strings.Contains(err.Error(), "mysql") || strings.Contains(err.Error(), "did not become healthy") {
		t.Fatalf("error does not name the cause: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %s to report a start failure", d)
	}
}

// A second platform on the same home is refused while the first runs.
func TestUpLocksTheHome(t *testing.T) {
	home := t.TempDir()
	log := logging.New(io.Discard, "json", "error")
	p, err := Up(context.Background(), Options{Home: home, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if _, err := Up(context.Background(), Options{Home: home, Log: log}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Up on the same home: %v, want ErrLocked", err)
	}
}
