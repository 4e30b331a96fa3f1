package mesh_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/services/mesh"
)

// TestLoginThrottleRetryAfterOverREST: through the gateway of vds up, the login after five wrong
// passwords is a 429 whose Retry-After is the seconds until the limiter allows another attempt:
// the RetryInfo delay of the body rounded up, just under the 15-minute window since the failures
// were just made (TestLoginThrottleWait checks older failures give a shorter wait).
func TestLoginThrottleRetryAfterOverREST(t *testing.T) {
	ctx := context.Background()
	p, err := mesh.Up(ctx, mesh.Options{Home: t.TempDir(), Bootstrap: true, Log: logging.New(io.Discard, "json", "error")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	login := func() (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.HTTPURL+"/v1/auth:login", strings.NewReader(`{"email":"`+p.Creds.Email+`","password":"wrong"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for i := 0; i < 5; i++ {
		if resp, b := login(); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Retry-After") != "" {
			t.Fatalf("wrong password %d: %d %s (Retry-After %q)", i+1, resp.StatusCode, b, resp.Header.Get("Retry-After"))
		}
	}
	resp, b := login()
	var body struct {
		Message string
		Details []struct {
			RetryDelay string `json:"retryDelay"`
		}
	}
	if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != http.StatusTooManyRequests || len(body.Details) != 1 {
		t.Fatalf("sixth login: %d %s (%v), want 429 with a RetryInfo detail", resp.StatusCode, b, err)
	}
	delay, err := time.ParseDuration(body.Details[0].RetryDelay)
	if err != nil || delay > 15*time.Minute || delay < 14*time.Minute {
		t.Fatalf("RetryInfo delay %q (%v), want just under 15m", body.Details[0].RetryDelay, err)
	}
	if got, want := resp.Header.Get("Retry-After"), strconv.Itoa(int(math.Ceil(delay.Seconds()))); got != want {
		t.Errorf("Retry-After %q, want %s (the delay %v rounded up)", got, want, delay)
	}
	if want := "too many failed logins for this account or from this address: wait 15m0s and try again"; body.Message != want {
		t.Errorf("message %q, want %q", body.Message, want)
	}
}
