package server

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/passwords"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
)

// cheap keeps tests fast where the cost of argon2id is not what is tested.
var cheap = passwords.Params{Memory: 1024, Time: 1, Threads: 1}

func newStore(t *testing.T) storage.Storage {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "vds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newServer is an auth server on st, as a replica of the service would be (no network needed).
func newServer(t *testing.T, st storage.Storage) *Server {
	t.Helper()
	rt := &platform.Runtime{Name: "auth", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Verifier: &authn.Verifier{}}
	s, err := New(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	s.Params = cheap
	return s
}

func from(addr string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-forwarded-for", "203.0.113.9, "+addr))
}

// retryDelay is the RetryInfo detail of a throttled login (the gateway's Retry-After).
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// TestLoginThrottlePerAccount: wrong passwords at an account from one address throttle that address's
// logins to it (even the right password), on every replica, whether or not the account exists; the
// account's owner logging in from elsewhere is not locked out (five wrong passwords from anywhere
// used to lock any account, the admin's too), and the throttled address stays throttled after the
// owner's login.
func TestLoginThrottlePerAccount(t *testing.T) {
	st := newStore(t)
	a, b := newServer(t, st), newServer(t, st) // two replicas on one store
	if _, _, err := a.CreateUser(context.Background(), "victim@example.com", "the right password", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateUser(context.Background(), "bystander@example.com", "another password", ""); err != nil {
		t.Fatal(err)
	}
	const attacker = "198.51.100.66"
	for _, email := range []string{"victim@example.com", "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			var codes_ []codes.Code
			for i := 0; i < 12; i++ {
				srv := a
				if i%2 == 1 {
					srv = b // alternate replicas: the count is shared
				}
				_, err := srv.Login(from(attacker), &authv1.LoginRequest{Email: email, Password: "wrong password " + string(rune('a'+i))})
				codes_ = append(codes_, status.Code(err))
			}
			for i, c := range codes_ {
				want := codes.Unauthenticated
				if i >= DefaultThrottle.MaxPerAccount {
					want = codes.ResourceExhausted
				}
				if c != want {
					t.Fatalf("attempt %d: %v, want %v (all: %v)", i+1, c, want, codes_)
				}
			}
		})
	}
	// From the attacker's address even the right password is refused, on either replica, with the wait.
	for _, srv := range []*Server{a, b} {
		_, err := srv.Login(from(attacker), &authv1.LoginRequest{Email: "Victim@example.com", Password: "the right password"})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "wait 15m0s") {
			t.Fatalf("right password from the throttled address: %v, want ResourceExhausted asking to wait 15m0s", err)
		}
		// The failures were just made: the oldest counted one leaves the window a little under
		// 15 minutes from now.
		if d := retryDelay(err); d > DefaultThrottle.Window || d < DefaultThrottle.Window-time.Minute {
			t.Fatalf("RetryInfo delay %v, want just under the throttle window %v", d, DefaultThrottle.Window)
		}
	}
	// The owner, elsewhere, logs in; another account is not affected.
	if _, err := b.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "victim@example.com", Password: "the right password"}); err != nil {
		t.Fatalf("the owner from another address: %v", err)
	}
	if _, err := a.Login(from(attacker), &authv1.LoginRequest{Email: "bystander@example.com", Password: "another password"}); err != nil {
		t.Fatalf("other account from the attacker's address: %v", err)
	}
	// The owner's login does not clear the attacker's count; a replica started now sees it.
	c := newServer(t, st)
	if _, err := c.Login(from(attacker), &authv1.LoginRequest{Email: "victim@example.com", Password: "the right password"}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("attacker's address after the owner's login, new replica: %v, want ResourceExhausted", err)
	}
	// When the window has passed, the right password works from there too and clears its counts.
	c.Throttle.Window = time.Nanosecond
	if _, err := c.Login(from(attacker), &authv1.LoginRequest{Email: "victim@example.com", Password: "the right password"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for _, k := range []string{"acct:victim@example.com", "acct:victim@example.com|addr:" + attacker} {
		if n, _ := st.CountLoginFailures(context.Background(), k, time.Time{}); n != 0 {
			t.Fatalf("%s: %d failures left after a successful login, want 0", k, n)
		}
	}
}

// TestLoginThrottlePerAccountTotal: guessing at one account spread over many addresses (each under
// the per-address limits) is throttled at MaxPerAccountTotal, from every address and for the right
// password too; other accounts are not affected.
func TestLoginThrottlePerAccountTotal(t *testing.T) {
	st := newStore(t)
	a, b := newServer(t, st), newServer(t, st)
	for _, s := range []*Server{a, b} {
		s.Throttle = Throttle{Window: 15 * time.Minute, MaxPerAccount: 5, MaxPerAccountTotal: 8, MaxPerAddress: 50}
	}
	if _, _, err := a.CreateUser(context.Background(), "victim@example.com", "the right password", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateUser(context.Background(), "bystander@example.com", "another password", ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		srv := []*Server{a, b}[i%2]
		_, err := srv.Login(from("198.51.100."+strconv.Itoa(10+i)), &authv1.LoginRequest{Email: "victim@example.com", Password: "guess " + strconv.Itoa(i)})
		want := codes.Unauthenticated
		if i >= 8 {
			want = codes.ResourceExhausted
		}
		if status.Code(err) != want {
			t.Fatalf("attempt %d from its own address: %v, want %v", i+1, err, want)
		}
	}
	if _, err := a.Login(from("192.0.2.50"), &authv1.LoginRequest{Email: "victim@example.com", Password: "the right password"}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("right password from a new address: %v, want ResourceExhausted", err)
	}
	if _, err := b.Login(from("192.0.2.50"), &authv1.LoginRequest{Email: "bystander@example.com", Password: "another password"}); err != nil {
		t.Fatalf("other account: %v", err)
	}
}

func TestLoginThrottlePerAddress(t *testing.T) {
	st := newStore(t)
	s := newServer(t, st)
	s.Throttle = Throttle{Window: 15 * time.Minute, MaxPerAccount: 5, MaxPerAddress: 8}
	if _, _, err := s.CreateUser(context.Background(), "real@example.com", "the right password", ""); err != nil {
		t.Fatal(err)
	}
	// A spray of wrong passwords over many accounts from one address.
	for i := 0; i < 8; i++ {
		_, err := s.Login(from("198.51.100.7"), &authv1.LoginRequest{Email: "user" + string(rune('a'+i)) + "@example.com", Password: "guess"})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("attempt %d: %v, want Unauthenticated", i+1, err)
		}
	}
	tests := []struct {
		addr string
		want codes.Code
	}{{"198.51.100.7", codes.ResourceExhausted}, {"198.51.100.8", codes.OK}}
	for _, tc := range tests {
		_, err := s.Login(from(tc.addr), &authv1.LoginRequest{Email: "real@example.com", Password: "the right password"})
		if status.Code(err) != tc.want {
			t.Errorf("login from %s: %v, want %v", tc.addr, err, tc.want)
		}
	}
}

func TestPasswordRehashOnLogin(t *testing.T) {
	st := newStore(t)
	s := newServer(t, st)
	u, _, err := s.CreateUser(context.Background(), "old@example.com", "a fine password", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.PasswordHash, "$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q does not carry the test parameters", u.PasswordHash)
	}
	tests := []struct {
		params passwords.Params
		want   string
	}{
		{passwords.Params{Memory: 2048, Time: 2, Threads: 1}, "$m=2048,t=2,p=1$"},
		{passwords.Params{Memory: 4096, Time: 1, Threads: 2}, "$m=4096,t=1,p=2$"},
	}
	for _, tc := range tests {
		s.Params = tc.params
		if _, err := s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "old@example.com", Password: "a fine password"}); err != nil {
			t.Fatalf("login: %v", err)
		}
		got, _ := st.GetUser(context.Background(), u.ID)
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19"+tc.want) {
			t.Fatalf("after login with %+v the hash is %q, want parameters %s", tc.params, got.PasswordHash, tc.want)
		}
		if ok, re, _ := passwords.Verify("a fine password", got.PasswordHash, tc.params); !ok || re {
			t.Fatalf("upgraded hash does not verify: ok=%v rehash=%v", ok, re)
		}
	}
	// A wrong password never rewrites the hash.
	before, _ := st.GetUser(context.Background(), u.ID)
	s.Params = cheap
	_, _ = s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "old@example.com", Password: "not the password"})
	after, _ := st.GetUser(context.Background(), u.ID)
	if after.PasswordHash != before.PasswordHash {
		t.Fatal("a failed login changed the stored hash")
	}
}

// TestNoUserEnumeration: an unknown address and a wrong password get the same answer in about the
// same time (both run one argon2id verification with the configured parameters).
func TestNoUserEnumeration(t *testing.T) {
	st := newStore(t)
	s := newServer(t, st)
	s.Params = passwords.Default // the real cost, so the hash dominates the timing
	s.Throttle = Throttle{}      // measure the password path, not the throttle
	if _, _, err := s.CreateUser(context.Background(), "known@example.com", "the right password", ""); err != nil {
		t.Fatal(err)
	}
	s.dummyHash() // computed once per process, before any measurement
	// Interleaved, so that machine load and GC affect both alike.
	var ks, us []time.Duration
	var errKnown, errUnknown error
	for i := 0; i < 11; i++ {
		for _, c := range []struct {
			email string
			ds    *[]time.Duration
			err   *error
		}{{"known@example.com", &ks, &errKnown}, {"unknown@example.com", &us, &errUnknown}} {
			t0 := time.Now()
			_, *c.err = s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: c.email, Password: "wrong password"})
			*c.ds = append(*c.ds, time.Since(t0))
		}
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	known, unknown := median(ks), median(us)
	if status.Code(errKnown) != codes.Unauthenticated || status.Convert(errKnown).Message() != status.Convert(errUnknown).Message() || status.Code(errUnknown) != status.Code(errKnown) {
		t.Fatalf("answers differ: known %v, unknown %v", errKnown, errUnknown)
	}
	ratio := float64(unknown) / float64(known)
	t.Logf("median wrong-password login: known %v, unknown %v (ratio %.2f)", known, unknown, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("timing reveals registered addresses: known %v, unknown %v (ratio %.2f)", known, unknown, ratio)
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(Settings) bool
	}{
		{nil, "", func(s Settings) bool { return s.Params == passwords.Default && s.AccessTTL == 15*time.Minute }},
		{[]string{"-argon2-memory-kib", "65536", "-argon2-iterations", "3", "-argon2-threads", "2"}, "", func(s Settings) bool {
			return s.Params == passwords.Params{Memory: 65536, Time: 3, Threads: 2}
		}},
		{[]string{"-login-max-failures-per-account", "3"}, "", func(s Settings) bool { return s.Throttle.MaxPerAccount == 3 && s.Throttle.MaxPerAccountTotal == 100 }},
		{[]string{"-login-max-failures-per-account-total", "40"}, "", func(s Settings) bool { return s.Throttle.MaxPerAccountTotal == 40 && s.Throttle.MaxPerAccount == 5 }},
		{[]string{"-login-max-failures-per-account-total", "-1"}, "must not be negative", nil},
		{[]string{"-argon2-memory-kib", "1024"}, "too weak", nil},
		{[]string{"-access-token-ttl", "2h"}, "access-token-ttl", nil},
	}
	for _, tc := range tests {
		s := DefaultSettings()
		fs := flag.NewFlagSet("auth", flag.ContinueOnError)
		s.Bind(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		err := s.Validate()
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !tc.check(s)):
			t.Errorf("%v: %+v, %v", tc.args, s, err)
		}
	}
}

// TestChangePasswordEndsOtherSessions: after a password change only the session that made it
// survives; the others' refresh tokens and access tokens stop working.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	st := newStore(t)
	s := newServer(t, st)
	if _, _, err := s.CreateUser(context.Background(), "mover@example.com", "the old password", ""); err != nil {
		t.Fatal(err)
	}
	var logins []*authv1.LoginResponse
	for i := 0; i < 3; i++ {
		l, err := s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "mover@example.com", Password: "the old password"})
		if err != nil {
			t.Fatal(err)
		}
		logins = append(logins, l)
	}
	auth := func(tok string) context.Context {
		c, err := s.rt.Verifier.Verify(context.Background(), tok)
		if err != nil {
			return nil
		}
		return authn.WithIdentity(context.Background(), &authn.Identity{UserID: c.Subject, SessionID: c.SessionID})
	}
	if _, err := s.ChangePassword(auth(logins[0].AccessToken), &authv1.ChangePasswordRequest{OldPassword: "the old password", NewPassword: "the new password"}); err != nil {
		t.Fatal(err)
	}
	for i, l := range logins {
		_, verr := s.rt.Verifier.Verify(context.Background(), l.AccessToken)
		_, rerr := s.Refresh(context.Background(), &authv1.RefreshRequest{RefreshToken: l.RefreshToken})
		if keep := i == 0; (verr == nil) != keep || (rerr == nil) != keep {
			t.Errorf("session %d after the password change: access %v, refresh %v; want it kept=%v", i, verr, rerr, keep)
		}
	}
	if _, err := s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "mover@example.com", Password: "the old password"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("old password after the change: %v", err)
	}
	if _, err := s.Login(from("192.0.2.1"), &authv1.LoginRequest{Email: "mover@example.com", Password: "the new password"}); err != nil {
		t.Errorf("new password: %v", err)
	}
}

// TestLoginThrottleWait: a throttled login's wait (the RetryInfo delay the gateway sends as
// Retry-After, and the message) is the time until the limiter allows another attempt: until the
// max-th newest failure leaves the window. It was always the whole window (15 minutes), however old
// the failures were.
func TestLoginThrottleWait(t *testing.T) {
	st := newStore(t)
	s := newServer(t, st)
	const addr = "198.51.100.7"
	now := time.Now()
	// Five failures (the per-account limit) 10, 8, 6, 4 and 2 minutes ago: the oldest leaves the
	// 15-minute window in 5 minutes, and the limit is then no longer reached.
	for _, ago := range []int{10, 8, 6, 4, 2} {
		if err := st.AddLoginFailure(context.Background(), "acct:late@example.com|addr:"+addr, now.Add(-time.Duration(ago)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Login(from(addr), &authv1.LoginRequest{Email: "late@example.com", Password: "x"})
	d := retryDelay(err)
	if status.Code(err) != codes.ResourceExhausted || d > 5*time.Minute || d < 5*time.Minute-10*time.Second ||
		status.Convert(err).Message() != "too many failed logins for this account or from this address: wait 5m0s and try again" {
		t.Fatalf("throttled: %v, delay %v; want ResourceExhausted, 'wait 5m0s' and a delay just under 5m", err, d)
	}
	// A sixth failure 12 minutes ago does not change it: the fifth newest still leaves in 5 minutes.
	if err := st.AddLoginFailure(context.Background(), "acct:late@example.com|addr:"+addr, now.Add(-12*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(from(addr), &authv1.LoginRequest{Email: "late@example.com", Password: "x"}); retryDelay(err) > 5*time.Minute || retryDelay(err) < 5*time.Minute-10*time.Second {
		t.Fatalf("six failures: delay %v, want just under 5m", retryDelay(err))
	}
	// The limiter keeps its word: at the end of the wait the login is allowed (it fails on the
	// password instead).
	s.Throttle.Window -= d
	if _, err := s.Login(from(addr), &authv1.LoginRequest{Email: "late@example.com", Password: "x"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after the wait: %v, want Unauthenticated (the throttle let it through)", err)
	}
	// The wait of one failure: it counts while it is at or after now - window.
	at := time.Unix(1000, 0)
	if got := throttleWait(at, time.Minute, at.Add(20*time.Second)); got != 40*time.Second+time.Microsecond {
		t.Errorf("throttleWait = %v, want 40s and a microsecond", got)
	}
}
