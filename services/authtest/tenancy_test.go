package authtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/authn"
)

// probe is one read per service, to check a credential everywhere.
type probe struct {
	service string
	call    func(ctx context.Context, c *client.Client) error
}

func probes(a *user, o owned) []probe {
	return []probe{
		{"auth", func(ctx context.Context, c *client.Client) error {
			_, err := c.Auth.GetProject(ctx, &authv1.GetProjectRequest{ProjectId: a.project})
			return err
		}},
		{"ingestion", func(ctx context.Context, c *client.Client) error {
			_, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: o.dataset})
			return err
		}},
		{"jobs", func(ctx context.Context, c *client.Client) error {
			_, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: o.ingestJob})
			return err
		}},
		{"profiling", func(ctx context.Context, c *client.Client) error {
			_, err := c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: o.profile})
			return err
		}},
		{"ml", func(ctx context.Context, c *client.Client) error {
			_, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: o.model})
			return err
		}},
		{"causal", func(ctx context.Context, c *client.Client) error {
			_, err := c.Causal.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: o.estimate})
			return err
		}},
		{"sandbox", func(ctx context.Context, c *client.Client) error {
			_, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: o.execution})
			return err
		}},
		{"orchestrator", func(ctx context.Context, c *client.Client) error {
			_, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: o.analysis})
			return err
		}},
	}
}

// probeAll runs every probe with c and returns the code each service answered.
func probeAll(ps []probe, c *client.Client) map[string]codes.Code {
	out := map[string]codes.Code{}
	for _, p := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out[p.service] = outcome(p.call(ctx, c))
		cancel()
	}
	return out
}

func expectAll(t *testing.T, what string, got map[string]codes.Code, want codes.Code) {
	t.Helper()
	for svc, c := range got {
		if c != want {
			t.Errorf("%s: the %s service answered %v, want %v", what, svc, c, want)
		}
	}
}

// TestTenancyAcrossTheMesh is the cross-tenant matrix, the credential checks on every service, the
// revocation deadline, and the restart test, on one mesh (SQLite and embedded NATS under a temporary
// home) reached through the gateway's gRPC front door.
func TestTenancyAcrossTheMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole mesh")
	}
	home := t.TempDir()
	p := up(t, home, "", "")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			p.Stop()
		}
	})
	addr := p.GRPCAddr
	a := register(t, addr, "alice@example.com")
	b := register(t, addr, "bob@example.com")
	v := register(t, addr, "vera@example.com")
	ctx := context.Background()
	if _, err := a.c.Auth.AddMember(ctx, &authv1.AddMemberRequest{ProjectId: a.project, Email: v.email, Role: authv1.Role_ROLE_VIEWER}); err != nil {
		t.Fatalf("add viewer: %v", err)
	}
	o := makeResources(t, a, writeCSV(t, t.TempDir()))
	keyC := dial(t, addr, client.WithAPIKey(o.apiKeySecret))

	t.Run("Matrix", func(t *testing.T) {
		actors := []struct {
			name  string
			c     *client.Client
			e     env
			extra []rpcCase
			want  func(need access) codes.Code
		}{
			{"stranger", b.c, env{o: o, aProject: a.project, ownProj: b.project, selfEmail: b.email, aUserID: a.id}, strangerCases(),
				func(access) codes.Code { return codes.NotFound }},
			{"viewer", v.c, env{o: o, aProject: a.project, ownProj: v.project, selfEmail: v.email, aUserID: a.id}, nil,
				func(n access) codes.Code {
					if n == read {
						return codes.OK
					}
					return codes.PermissionDenied
				}},
			{"read-scoped API key", keyC, env{o: o, aProject: a.project, ownProj: a.project, selfEmail: a.email, aUserID: a.id}, nil,
				func(n access) codes.Code {
					if n == read {
						return codes.OK
					}
					return codes.PermissionDenied
				}},
			{"owner", a.c, env{o: o, aProject: a.project, ownProj: a.project, selfEmail: a.email, aUserID: a.id}, nil,
				func(n access) codes.Code { return codes.OK }},
		}
		notBuilt := map[string]bool{}
		ownerRead, otherRead := map[string]codes.Code{}, map[string]codes.Code{}
		checked := 0
		for _, ac := range actors {
			for _, rc := range append(cases(), ac.extra...) {
				if ac.name == "owner" && rc.need != read {
					continue // the owner's writes would change what the other rows look at
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := rc.call(cctx, ac.c, ac.e)
				cancel()
				got, want := outcome(err), ac.want(rc.need)
				if got == codes.Unimplemented {
					notBuilt[strings.Fields(rc.method)[0]] = true
					continue
				}
				checked++
				switch {
				case want == codes.OK && rc.need == read:
					// Authorized: the call got past authorization, whatever the handler then said;
					// and the viewer and the key see what the owner sees.
					if got == codes.NotFound || got == codes.PermissionDenied || got == codes.Unauthenticated {
						t.Errorf("%s calling %s on A's resource: %v (%v), want it allowed", ac.name, rc.method, got, err)
					}
					if ac.name == "owner" {
						ownerRead[rc.method] = got
						if got != codes.OK {
							t.Logf("defect outside authorization: the owner's %s answers %v: %v", rc.method, got, err)
						}
					} else {
						otherRead[ac.name+" "+rc.method] = got
					}
				case got != want:
					t.Errorf("%s calling %s on A's resource: %v (%v), want %v", ac.name, rc.method, got, err, want)
				}
				if want == codes.NotFound && err != nil && strings.Contains(err.Error(), a.email) {
					t.Errorf("%s calling %s: the refusal names A: %v", ac.name, rc.method, err)
				}
			}
		}
		for k, got := range otherRead {
			m := k[strings.Index(k, " /")+1:]
			if want, ok := ownerRead[m]; ok && got != want {
				t.Errorf("%s answered %v where the owner got %v", k, got, want)
			}
		}
		var nb []string
		for m := range notBuilt {
			nb = append(nb, m)
		}
		sort.Strings(nb)
		t.Logf("%d checks; RPCs answering Unimplemented (not built yet, so nothing to leak): %v", checked, nb)
		if checked < 100 {
			t.Fatalf("only %d matrix checks ran", checked)
		}
		// Nothing the others tried changed A's world: B is still not a member, A's key still works.
		if _, err := b.c.Auth.GetProject(ctx, &authv1.GetProjectRequest{ProjectId: a.project}); outcome(err) != codes.NotFound {
			t.Errorf("after the stranger's attempts, GetProject = %v, want NotFound", err)
		}
		if _, err := keyC.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: o.dataset}); err != nil {
			t.Errorf("A's read key after the others' attempts: %v", err)
		}
	})

	ps := probes(a, o)
	signer := signingKey(t, "sqlite://"+filepath.Join(home, "vds.db"))
	mint := func(s *authn.Signer, c authn.Claims) string {
		tok, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	claims := authn.Claims{Subject: a.id, Email: a.email, IssuedAt: now.Unix(), ExpiresAt: now.Add(5 * time.Minute).Unix()}

	t.Run("Credentials", func(t *testing.T) {
		// Positive control: a token signed with the real key is accepted everywhere, so the refusals
		// below are about the credential and nothing else.
		expectAll(t, "valid token", probeAll(ps, dial(t, addr, client.WithToken(mint(signer, claims)))), codes.OK)

		expired := claims
		expired.IssuedAt, expired.ExpiresAt = now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix()
		_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
		forger := &authn.Signer{KeyID: signer.KeyID, Key: otherKey}
		unknownKid := &authn.Signer{KeyID: "kforged", Key: otherKey}
		wrongMesh := make([]byte, 32)
		_, _ = rand.Read(wrongMesh)
		meshTok, _ := authn.MeshToken(wrongMesh, "ml", a.id, a.project, time.Minute)
		future := claims
		future.IssuedAt = now.Add(time.Hour).Unix()
		future.ExpiresAt = now.Add(2 * time.Hour).Unix()

		bad := []struct {
			name string
			opt  client.Option
		}{
			{"expired token", client.WithToken(mint(signer, expired))},
			{"token issued in the future", client.WithToken(mint(signer, future))},
			{"token signed by another key under the real key ID", client.WithToken(mint(forger, claims))},
			{"token signed by an unknown key", client.WithToken(mint(unknownKid, claims))},
			{"A's token with its subject changed to B", client.WithToken(retarget(t, a.access, b.id))},
			{"A's token with a flipped signature byte", client.WithToken(flipSig(a.access))},
			{"mesh token with a wrong mesh key", client.WithToken(meshTok)},
			{"garbage bearer token", client.WithToken("not-a-token")},
			{"made-up API key", client.WithAPIKey("vdsk_" + strings.Repeat("A", 43))},
			{"no credential", nil},
		}
		for _, tc := range bad {
			var c *client.Client
			if tc.opt == nil {
				c = dial(t, addr)
			} else {
				c = dial(t, addr, tc.opt)
			}
			expectAll(t, tc.name, probeAll(ps, c), codes.Unauthenticated)
		}
	})

	t.Run("RevokedAPIKey", func(t *testing.T) {
		k, err := a.c.Auth.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{ProjectId: a.project, Name: "to revoke", Scope: authv1.Scope_SCOPE_ADMIN})
		if err != nil {
			t.Fatal(err)
		}
		kc := dial(t, addr, client.WithAPIKey(k.Key))
		expectAll(t, "API key before revocation", probeAll(ps, kc), codes.OK)
		if _, err := a.c.Auth.RevokeApiKey(ctx, &authv1.RevokeApiKeyRequest{ApiKeyId: k.ApiKey.Id}); err != nil {
			t.Fatal(err)
		}
		expectAll(t, "revoked API key", probeAll(ps, kc), codes.Unauthenticated)
	})

	var revokedToken string
	t.Run("RevokedSession", func(t *testing.T) {
		second := &user{email: a.email, password: a.password}
		login(t, addr, second)
		expectAll(t, "second session before logout", probeAll(ps, second.c), codes.OK)
		if _, err := second.c.Auth.Logout(ctx, &authv1.LogoutRequest{}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		var got map[string]codes.Code
		for time.Since(t0) < 5*time.Second {
			got = probeAll(ps, second.c)
			all := true
			for _, c := range got {
				all = all && c == codes.Unauthenticated
			}
			if all {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("every service refused the logged-out session %v after logout", time.Since(t0).Round(time.Millisecond))
		expectAll(t, "logged-out session (within 5 s)", got, codes.Unauthenticated)
		if _, err := dial(t, addr).Auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: second.refresh}); outcome(err) != codes.Unauthenticated {
			t.Errorf("refresh of a logged-out session: %v, want Unauthenticated", err)
		}
		// A's first session is untouched.
		expectAll(t, "A's other session", probeAll(ps, a.c), codes.OK)
		revokedToken = second.access
	})

	t.Run("RefreshRotation", func(t *testing.T) {
		anon := dial(t, addr)
		r1, err := anon.Auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: a.refresh})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := anon.Auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: a.refresh}); outcome(err) != codes.Unauthenticated {
			t.Errorf("reusing a rotated refresh token: %v, want Unauthenticated", err)
		}
		expectAll(t, "refreshed access token", probeAll(ps, dial(t, addr, client.WithToken(r1.AccessToken))), codes.OK)
		a.refresh = r1.RefreshToken
	})

	t.Run("AuditLog", func(t *testing.T) {
		up, err := a.c.Upload(ctx, &datasetsv1.UploadMetadata{ProjectId: a.project, FileName: "doomed.csv"}, strings.NewReader("p,q\n1,2\n3,4\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.Datasets.DeleteDataset(ctx, &datasetsv1.DeleteDatasetRequest{DatasetId: up.DatasetId}); err != nil {
			t.Fatal(err)
		}
		evs, err := a.c.Auth.ListAuditEvents(ctx, &authv1.ListAuditEventsRequest{ProjectId: a.project, PageSize: 200})
		if err != nil {
			t.Fatal(err)
		}
		type key struct{ action, actor, target string }
		seen := map[key]bool{}
		for _, e := range evs.Events {
			seen[key{e.Action, e.ActorId, e.TargetId}] = true
			if e.ClientAddress == "" {
				t.Errorf("audit event %s has no client address", e.Action)
			}
		}
		for _, want := range []key{
			{"user.registered", a.id, a.id},
			{"member.added", a.id, v.id},
			{"api_key.created", a.id, o.apiKey},
			{"dataset.deleted", a.id, up.DatasetId},
		} {
			if !seen[want] {
				t.Errorf("audit log of A's project lacks %+v (has %d events)", want, len(evs.Events))
			}
		}
		// The viewer may not read it.
		if _, err := v.c.Auth.ListAuditEvents(ctx, &authv1.ListAuditEventsRequest{ProjectId: a.project}); outcome(err) != codes.PermissionDenied {
			t.Errorf("viewer reading the audit log: %v, want PermissionDenied", err)
		}
	})

	t.Run("Restart", func(t *testing.T) {
		t0 := time.Now()
		if err := p.Stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		stopped = true
		t1 := time.Now()
		p2 := up(t, home, "", "")
		t.Logf("stop took %v, start %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		defer p2.Stop()
		addr2 := p2.GRPCAddr
		// The same access token works on the restarted mesh (keys and sessions are in the store)...
		same := dial(t, addr2, client.WithToken(a.access))
		expectAll(t, "A's token after restart", probeAll(ps, same), codes.OK)
		if n, err := countRows(ctx, same, o.dataset); err != nil || n != 300 {
			t.Fatalf("A's data after restart: %d rows, %v; want the 300 uploaded", n, err)
		}
		// ...and so does a re-login; the data is still private and the logout still holds.
		login(t, addr2, b)
		expectAll(t, "B after restart", probeAll(ps, b.c), codes.NotFound)
		expectAll(t, "logged-out session after restart", probeAll(ps, dial(t, addr2, client.WithToken(revokedToken))), codes.Unauthenticated)
		login(t, addr2, a)
		expectAll(t, "A re-logged in after restart", probeAll(ps, a.c), codes.OK)
	})
}

// retarget rewrites the subject of a signed token, keeping its signature.
func retarget(t *testing.T, token, sub string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("unexpected token shape %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["sub"] = sub
	raw, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func flipSig(token string) string {
	i := strings.LastIndex(token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(token[i+1:])
	sig[0] ^= 0x01
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// countRows reads a dataset over Arrow Flight and counts its rows.
func countRows(ctx context.Context, c *client.Client, datasetID string) (int64, error) {
	rdr, err := c.ReadDataset(ctx, &datasetsv1.DatasetQuery{DatasetId: datasetID})
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	return n, rdr.Err()
}
