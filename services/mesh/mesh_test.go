package mesh

import (
	"context"
	"errors"
	"io"
	"net/http"
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

// The gateway's limits under `vds up` come from the same VDS_* variables as the standalone gateway's.
func TestGatewaySettingsFromEnvironment(t *testing.T) {
	t.Setenv("VDS_RATE_LIMIT", "1")
	t.Setenv("VDS_RATE_BURST", "1")
	t.Setenv("VDS_CORS_ORIGINS", "http://example.test")
	p, err := Up(context.Background(), Options{Home: t.TempDir(), Log: logging.New(io.Discard, "json", "error")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	codes := map[int]int{}
	for i := 0; i < 4; i++ {
		resp, err := http.Get(p.HTTPURL + "/v1/auth/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("4 quick requests at VDS_RATE_LIMIT=1 gave %v, want some 429", codes)
	}
	req, _ := http.NewRequest(http.MethodOptions, p.HTTPURL+"/v1/auth/me", nil)
	req.Header.Set("Origin", "http://example.test")
	req.Header.Set("Access-Control-Request-Method", "GET")
	time.Sleep(1100 * time.Millisecond) // let the bucket refill
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://example.test" {
		t.Fatalf("CORS preflight from the configured origin: status %d, Allow-Origin %q", resp.StatusCode, got)
	}
}
