package authtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/natsembed"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/pgtest"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
	authsrv "github.com/vdsproject/vds/services/auth/server"
)

// sessionProbes ask every service something in the user's project (or about a missing resource): an
// accepted credential gets past the interceptor (OK, NotFound, InvalidArgument), a refused one gets
// Unauthenticated.
func sessionProbes(project string) []probe {
	return []probe{
		{"auth", func(ctx context.Context, c *client.Client) error {
			_, err := c.Auth.GetProject(ctx, &authv1.GetProjectRequest{ProjectId: project})
			return err
		}},
		{"ingestion", func(ctx context.Context, c *client.Client) error {
			_, err := c.Datasets.ListDatasets(ctx, &datasetsv1.ListDatasetsRequest{ProjectId: project})
			return err
		}},
		{"jobs", func(ctx context.Context, c *client.Client) error {
			_, err := c.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{ProjectId: project})
			return err
		}},
		{"profiling", func(ctx context.Context, c *client.Client) error {
			_, err := c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: "prf_missing"})
			return err
		}},
		{"ml", func(ctx context.Context, c *client.Client) error {
			_, err := c.ML.ListModels(ctx, &mlv1.ListModelsRequest{ProjectId: project})
			return err
		}},
		{"causal", func(ctx context.Context, c *client.Client) error {
			_, err := c.Causal.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: "est_missing"})
			return err
		}},
		{"sandbox", func(ctx context.Context, c *client.Client) error {
			_, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: "exe_missing"})
			return err
		}},
		{"orchestrator", func(ctx context.Context, c *client.Client) error {
			_, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: "ana_missing"})
			return err
		}},
	}
}

func expectAccepted(t *testing.T, what string, got map[string]codes.Code) {
	t.Helper()
	for svc, c := range got {
		if c == codes.Unauthenticated || c == codes.Unavailable || c == codes.Internal {
			t.Errorf("%s: the %s service answered %v, want the credential accepted (the call then answers OK, NotFound or InvalidArgument)", what, svc, c)
		}
	}
}

// waitRefused probes until every service refuses c, for at most 5 s, and returns how long it took.
func waitRefused(t *testing.T, what string, ps []probe, c *client.Client) time.Duration {
	t.Helper()
	t0 := time.Now()
	var got map[string]codes.Code
	for {
		got = probeAll(ps, c)
		all := true
		for _, code := range got {
			all = all && code == codes.Unauthenticated
		}
		if all || time.Since(t0) > 5*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(t0)
	expectAll(t, what+" (within 5 s)", got, codes.Unauthenticated)
	t.Logf("%s: refused by every service %v after logout", what, took.Round(time.Millisecond))
	return took
}

// TestTwoAuthReplicasOnPostgres runs the mesh on PostgreSQL with a second auth service beside it:
// a session made on either replica works everywhere, a logout on either is enforced by every
// service within 5 s, and the login throttle counts failures made on both.
func TestTwoAuthReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole mesh")
	}
	dbURL := pgtest.URL(t) // skips outside CI when PostgreSQL is unreachable; fails in CI
	ns, err := natsembed.Start(filepath.Join(t.TempDir(), "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	home := t.TempDir()
	p := up(t, home, dbURL, ns.URL())
	t.Cleanup(func() { p.Stop() })

	// Replica 2: the auth service alone, on the same database, NATS and mesh key.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- platform.Serve(ctx, authsrv.Service(), platform.Config{Home: home, DatabaseURL: dbURL, NatsURL: ns.URL(), Peers: p.Services}, lis, quietLog())
	}()
	t.Cleanup(func() { cancel(); <-done })
	r2 := lis.Addr().String()
	waitServing(t, r2)
	r1 := p.Services["auth"]

	a := register(t, p.GRPCAddr, "ann@example.com")
	ps := sessionProbes(a.project)

	t.Run("SessionFromEitherReplicaWorksEverywhere", func(t *testing.T) {
		for _, replica := range []string{r1, r2} {
			u := &user{email: a.email, password: a.password}
			login(t, replica, u)
			expectAccepted(t, "session made on "+replica, probeAll(ps, dial(t, p.GRPCAddr, client.WithToken(u.access))))
			for _, other := range []string{r1, r2} {
				if _, err := dial(t, other, client.WithToken(u.access)).Auth.WhoAmI(context.Background(), &authv1.WhoAmIRequest{}); err != nil {
					t.Errorf("WhoAmI on %s with a session from %s: %v", other, replica, err)
				}
			}
		}
		// A refresh on replica 1 of a session made on replica 2.
		u := &user{email: a.email, password: a.password}
		login(t, r2, u)
		rr, err := dial(t, r1).Auth.Refresh(context.Background(), &authv1.RefreshRequest{RefreshToken: u.refresh})
		if err != nil {
			t.Fatalf("refresh on replica 1 of a replica-2 session: %v", err)
		}
		expectAccepted(t, "refreshed token", probeAll(ps, dial(t, p.GRPCAddr, client.WithToken(rr.AccessToken))))
	})

	t.Run("LogoutOnEitherReplicaHoldsEverywhere", func(t *testing.T) {
		for _, tc := range []struct{ loginOn, logoutOn string }{{r1, r2}, {r2, r1}} {
			u := &user{email: a.email, password: a.password}
			login(t, tc.loginOn, u)
			front := dial(t, p.GRPCAddr, client.WithToken(u.access))
			expectAccepted(t, "before logout", probeAll(ps, front))
			if _, err := dial(t, tc.logoutOn, client.WithToken(u.access)).Auth.Logout(context.Background(), &authv1.LogoutRequest{}); err != nil {
				t.Fatalf("logout: %v", err)
			}
			waitRefused(t, "session logged out on "+tc.logoutOn, ps, front)
			// Both auth replicas refuse it too.
			for _, r := range []string{r1, r2} {
				if _, err := dial(t, r, client.WithToken(u.access)).Auth.WhoAmI(context.Background(), &authv1.WhoAmIRequest{}); outcome(err) != codes.Unauthenticated {
					t.Errorf("replica %s after logout: %v, want Unauthenticated", r, err)
				}
			}
		}
	})

	t.Run("RevocationWithoutNATSEvent", func(t *testing.T) {
		// A revocation written to the store by someone whose NATS event was lost is still picked up
		// by every service's poll.
		u := &user{email: a.email, password: a.password}
		login(t, r1, u)
		front := dial(t, p.GRPCAddr, client.WithToken(u.access))
		expectAccepted(t, "before revocation", probeAll(ps, front))
		st := openStore(t, dbURL)
		sid := sessionOf(t, u.access)
		if _, err := st.UpdateSession(context.Background(), sid, revokeNow); err != nil {
			t.Fatal(err)
		}
		if took := waitRefused(t, "session revoked in the store only", ps, front); took > 2*grpcx.RevocationPoll+time.Second {
			t.Errorf("poll fallback took %v, want about %v", took, grpcx.RevocationPoll)
		}
	})

	t.Run("ThrottleAcrossReplicas", func(t *testing.T) {
		var got []codes.Code
		for i := 0; i < 7; i++ {
			r := []string{r1, r2}[i%2]
			_, err := dial(t, r).Auth.Login(context.Background(), &authv1.LoginRequest{Email: a.email, Password: "not the password"})
			got = append(got, outcome(err))
		}
		want := []codes.Code{codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated, codes.ResourceExhausted, codes.ResourceExhausted}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("wrong passwords alternating replicas: %v, want %v", got, want)
			}
		}
	})
}

func waitServing(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica at %s not serving: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openStore(t *testing.T, dbURL string) storage.Storage {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sessionOf reads the session ID out of an access token (the test's own token, no verification).
func sessionOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.SID == "" {
		t.Fatalf("no session in token: %v", err)
	}
	return c.SID
}

func revokeNow(s storage.Session) (storage.Session, error) {
	s.RevokedAt = time.Now()
	return s, nil
}
