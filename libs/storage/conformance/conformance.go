// Package conformance is the test suite every storage.Storage backend must pass.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/storage"
)

// RunTests runs the suite; newStore returns a fresh, empty store for each subtest.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"ProjectsAndMembers", testProjects},
		{"APIKeys", testAPIKeys},
		{"Audit", testAudit},
		{"Resources", testResources},
		{"ResourceKeyUnique", testResourceKey},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Lineage", testLineage},
		{"RevokedSessions", testRevokedSessions},
		{"LoginFailures", testLoginFailures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func mustUser(t *testing.T, s storage.Storage, email string) storage.User {
	t.Helper()
	u := storage.User{ID: ids.New(ids.User), Email: email, DisplayName: "U", PasswordHash: "h", CreatedAt: time.Now().Truncate(time.Microsecond)}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	u.Email = lower(email)
	return u
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func testUsers(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := mustUser(t, s, "Ada@Example.com")
	got, err := s.GetUserByEmail(ctx, "ada@example.COM")
	if err != nil || got.ID != u.ID || got.Email != "ada@example.com" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUserByEmail = %+v, %v; want %+v", got, err, u)
	}
	if err := s.CreateUser(ctx, storage.User{ID: ids.New(ids.User), Email: "ADA@example.com", PasswordHash: "x"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("duplicate email: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := s.GetUser(ctx, "usr_missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing user: err = %v, want ErrNotFound", err)
	}
	nu, err := s.UpdateUser(ctx, u.ID, func(old storage.User) (storage.User, error) {
		old.PasswordHash = "new"
		return old, nil
	})
	if err != nil || nu.PasswordHash != "new" {
		t.Fatalf("UpdateUser = %+v, %v", nu, err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateUser(ctx, u.ID, func(old storage.User) (storage.User, error) {
		old.PasswordHash = "lost"
		return old, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("aborted update err = %v", err)
	}
	if got, _ := s.GetUser(ctx, u.ID); got.PasswordHash != "new" {
		t.Fatalf("aborted update was written: %q", got.PasswordHash)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v", n, err)
	}
}

func testSessions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := mustUser(t, s, "s@example.com")
	now := time.Now().Truncate(time.Microsecond)
	x := storage.Session{ID: ids.New(ids.Session), UserID: u.ID, RefreshHash: "rh1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}
	if err := s.CreateSession(ctx, x); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSessionByRefreshHash(ctx, "rh1")
	if err != nil || got.ID != x.ID || !got.ExpiresAt.Equal(x.ExpiresAt) || !got.RevokedAt.IsZero() {
		t.Fatalf("GetSessionByRefreshHash = %+v, %v", got, err)
	}
	if _, err := s.UpdateSession(ctx, x.ID, func(o storage.Session) (storage.Session, error) {
		o.RefreshHash, o.RevokedAt = "rh2", now
		return o, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSessionByRefreshHash(ctx, "rh1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("old refresh hash still found: %v", err)
	}
	got, _ = s.GetSession(ctx, x.ID)
	if !got.RevokedAt.Equal(now) || got.RefreshHash != "rh2" {
		t.Fatalf("after update: %+v", got)
	}
}

func testProjects(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	p := storage.Project{ID: ids.New(ids.Project), Name: "p", CreatedBy: a.ID, CreatedAt: time.Now()}
	if err := s.CreateProject(ctx, p, storage.Member{ProjectID: p.ID, UserID: a.ID, Role: storage.RoleOwner, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetMember(ctx, p.ID, a.ID); err != nil || m.Role != storage.RoleOwner {
		t.Fatalf("owner member = %+v, %v", m, err)
	}
	if _, err := s.GetMember(ctx, p.ID, b.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("non-member: %v", err)
	}
	if err := s.PutMember(ctx, storage.Member{ProjectID: p.ID, UserID: b.ID, Role: storage.RoleViewer, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMember(ctx, storage.Member{ProjectID: p.ID, UserID: b.ID, Role: storage.RoleEditor}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.ListMembers(ctx, p.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("ListMembers = %v, %v", ms, err)
	}
	if m, _ := s.GetMember(ctx, p.ID, b.ID); m.Role != storage.RoleEditor {
		t.Fatalf("role not updated: %d", m.Role)
	}
	ps, err := s.ListProjects(ctx, b.ID)
	if err != nil || len(ps) != 1 || ps[0].ID != p.ID || ps[0].Role != storage.RoleEditor {
		t.Fatalf("ListProjects(b) = %+v, %v", ps, err)
	}
	if err := s.DeleteMember(ctx, p.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMember(ctx, p.ID, b.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ps, _ := s.ListProjects(ctx, b.ID); len(ps) != 0 {
		t.Fatalf("b still sees %v", ps)
	}
}

func testAPIKeys(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a := mustUser(t, s, "k@example.com")
	p := storage.Project{ID: ids.New(ids.Project), Name: "p", CreatedBy: a.ID, CreatedAt: time.Now()}
	if err := s.CreateProject(ctx, p, storage.Member{ProjectID: p.ID, UserID: a.ID, Role: storage.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	k := storage.APIKey{ID: ids.New(ids.APIKey), ProjectID: p.ID, UserID: a.ID, Name: "ci", Prefix: "vds_ab", Hash: "hash1", Scope: 2, CreatedAt: time.Now()}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPIKeyByHash(ctx, "hash1")
	if err != nil || got.ID != k.ID || got.Scope != 2 {
		t.Fatalf("GetAPIKeyByHash = %+v, %v", got, err)
	}
	now := time.Now().Truncate(time.Microsecond)
	if _, err := s.UpdateAPIKey(ctx, k.ID, func(o storage.APIKey) (storage.APIKey, error) { o.RevokedAt = now; return o, nil }); err != nil {
		t.Fatal(err)
	}
	ks, err := s.ListAPIKeys(ctx, p.ID)
	if err != nil || len(ks) != 1 || !ks[0].RevokedAt.Equal(now) || ks[0].Hash != "hash1" {
		t.Fatalf("ListAPIKeys = %+v, %v", ks, err)
	}
}

func testAudit(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	base := time.Now().Truncate(time.Microsecond)
	for i := 0; i < 5; i++ {
		if err := s.AppendAudit(ctx, storage.AuditEvent{ID: ids.New(ids.Audit), Time: base.Add(time.Duration(i) * time.Second), Action: fmt.Sprintf("a%d", i), ProjectID: "prj_1", Details: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.ListAudit(ctx, "prj_1", 2, time.Time{})
	if err != nil || len(evs) != 2 || evs[0].Action != "a4" || evs[1].Details["i"] != "3" {
		t.Fatalf("ListAudit = %+v, %v", evs, err)
	}
	evs, _ = s.ListAudit(ctx, "prj_1", 10, evs[1].Time)
	if len(evs) != 3 || evs[0].Action != "a2" {
		t.Fatalf("ListAudit before = %+v", evs)
	}
}

func testResources(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	base := time.Now().Truncate(time.Microsecond)
	var made []string
	for i := 0; i < 3; i++ {
		r := storage.Resource{Kind: "dataset", ID: ids.New(ids.Dataset), ProjectID: "prj_a", State: "ready", Data: []byte{byte(i), 0, 255}, CreatedAt: base.Add(time.Duration(i) * time.Millisecond)}
		if err := s.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
		made = append(made, r.ID)
	}
	if err := s.CreateResource(ctx, storage.Resource{Kind: "dataset", ID: made[0], ProjectID: "prj_a"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.CreateResource(ctx, storage.Resource{Kind: "dataset", ID: ids.New(ids.Dataset), ProjectID: "prj_b", State: "pending"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResource(ctx, "dataset", made[1])
	if err != nil || got.ProjectID != "prj_a" || string(got.Data) != string([]byte{1, 0, 255}) {
		t.Fatalf("GetResource = %+v, %v", got, err)
	}
	if _, err := s.GetResource(ctx, "model", made[1]); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("wrong kind: %v", err)
	}
	list, err := s.ListResources(ctx, storage.ListQuery{Kind: "dataset", ProjectID: "prj_a"})
	if err != nil || len(list) != 3 || list[0].ID != made[2] || list[2].ID != made[0] {
		t.Fatalf("ListResources newest first = %v, %v", list, err)
	}
	page, _ := s.ListResources(ctx, storage.ListQuery{Kind: "dataset", ProjectID: "prj_a", Limit: 1, BeforeID: made[2]})
	if len(page) != 1 || page[0].ID != made[1] {
		t.Fatalf("page after %s = %v", made[2], page)
	}
	if l, _ := s.ListResources(ctx, storage.ListQuery{Kind: "dataset", State: "pending"}); len(l) != 1 || l[0].ProjectID != "prj_b" {
		t.Fatalf("filter by state = %v", l)
	}
	up, err := s.UpdateResource(ctx, "dataset", made[0], func(r storage.Resource) (storage.Resource, error) {
		r.State, r.Data = "failed", []byte("x")
		return r, nil
	})
	if err != nil || up.State != "failed" || !up.CreatedAt.Equal(base) {
		t.Fatalf("UpdateResource = %+v, %v", up, err)
	}
	if err := s.SetResourceState(ctx, "dataset", made[0], "ready", []byte("yz")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetResource(ctx, "dataset", made[0]); err != nil || got.State != "ready" || string(got.Data) != "yz" ||
		got.ProjectID != up.ProjectID || !got.CreatedAt.Equal(base) || got.UpdatedAt.Before(up.UpdatedAt) {
		t.Fatalf("after SetResourceState: %+v, %v", got, err)
	}
	if err := s.SetResourceState(ctx, "dataset", made[0], "empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetResource(ctx, "dataset", made[0]); got.State != "empty" || len(got.Data) != 0 {
		t.Fatalf("SetResourceState with nil data: %+v", got)
	}
	if err := s.SetResourceState(ctx, "upload", made[0], "x", nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SetResourceState of another kind: %v", err)
	}
	if err := s.DeleteResource(ctx, "dataset", made[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResourceState(ctx, "dataset", made[0], "x", nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SetResourceState of a deleted resource: %v", err)
	}
	if _, err := s.UpdateResource(ctx, "dataset", made[0], func(r storage.Resource) (storage.Resource, error) { return r, nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update deleted: %v", err)
	}
}

func testResourceKey(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	r := storage.Resource{Kind: "upload", ID: ids.New(ids.Upload), ProjectID: "prj_a", Key: "sha256:abc"}
	if err := s.CreateResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateResource(ctx, storage.Resource{Kind: "upload", ID: ids.New(ids.Upload), ProjectID: "prj_a", Key: "sha256:abc"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("same key same project: %v", err)
	}
	if err := s.CreateResource(ctx, storage.Resource{Kind: "upload", ID: ids.New(ids.Upload), ProjectID: "prj_b", Key: "sha256:abc"}); err != nil {
		t.Fatalf("same key other project: %v", err)
	}
	for i := 0; i < 2; i++ { // empty keys never collide
		if err := s.CreateResource(ctx, storage.Resource{Kind: "upload", ID: ids.New(ids.Upload), ProjectID: "prj_a"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetResourceByKey(ctx, "upload", "prj_a", "sha256:abc")
	if err != nil || got.ID != r.ID {
		t.Fatalf("GetResourceByKey = %+v, %v", got, err)
	}
}

func testConcurrentUpdates(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	id := ids.New(ids.Job)
	if err := s.CreateResource(ctx, storage.Resource{Kind: "job", ID: id, Data: []byte{0}}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateResource(ctx, "job", id, func(r storage.Resource) (storage.Resource, error) {
				r.Data = []byte{r.Data[0] + 1}
				return r, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.GetResource(ctx, "job", id)
	if got.Data[0] != n {
		t.Fatalf("lost updates: counter = %d, want %d", got.Data[0], n)
	}
}

func testLineage(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	edges := []storage.Edge{
		{FromID: "ds_a", ToID: "prof_1", Operation: "profile"},
		{FromID: "ds_a", ToID: "mdl_1", Operation: "train", Params: map[string]string{"target": "y"}},
		{FromID: "ds_b", ToID: "mdl_1", Operation: "train"},
	}
	if err := s.AddEdges(ctx, edges); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEdges(ctx, edges[:1]); err != nil { // idempotent
		t.Fatal(err)
	}
	got, err := s.EdgesInto(ctx, []string{"mdl_1"})
	if err != nil || len(got) != 2 {
		t.Fatalf("EdgesInto = %+v, %v", got, err)
	}
	found := false
	for _, e := range got {
		if e.FromID == "ds_a" && e.Params["target"] == "y" {
			found = true
		}
	}
	if !found {
		t.Fatalf("params lost: %+v", got)
	}
	if got, _ := s.EdgesInto(ctx, []string{"prof_1", "mdl_1"}); len(got) != 3 {
		t.Fatalf("EdgesInto two = %d", len(got))
	}
}

func testRevokedSessions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := mustUser(t, s, "revoked@example.com")
	now := time.Now().Truncate(time.Microsecond)
	mk := func(hash string, revoked time.Time) storage.Session {
		x := storage.Session{ID: ids.New(ids.Session), UserID: u.ID, RefreshHash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now, RevokedAt: revoked}
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatalf("create session: %v", err)
		}
		return x
	}
	liveS := mk("live", time.Time{})
	old := mk("old", now.Add(-2*time.Hour))
	recent := mk("recent", now.Add(-time.Minute))
	// Revoking all of a user's sessions but one leaves that one and the already revoked alone.
	keep := mk("keep", time.Time{})
	other := mustUser(t, s, "other@example.com")
	otherSess := storage.Session{ID: ids.New(ids.Session), UserID: other.ID, RefreshHash: "other", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}
	if err := s.CreateSession(ctx, otherSess); err != nil {
		t.Fatal(err)
	}
	at := now.Add(-30 * time.Minute)
	revoked, err := s.RevokeUserSessions(ctx, u.ID, keep.ID, at)
	if err != nil || len(revoked) != 1 {
		t.Fatalf("RevokeUserSessions = %v, %v; want the one live session", revoked, err)
	}
	if g, _ := s.GetSession(ctx, keep.ID); !g.RevokedAt.IsZero() {
		t.Fatal("the kept session was revoked")
	}
	if g, _ := s.GetSession(ctx, otherSess.ID); !g.RevokedAt.IsZero() {
		t.Fatal("another user's session was revoked")
	}
	if g, _ := s.GetSession(ctx, old.ID); !g.RevokedAt.Equal(now.Add(-2 * time.Hour)) {
		t.Fatalf("an already revoked session got a new revocation time %v", g.RevokedAt)
	}
	live := revoked[0]
	if live != liveS.ID {
		t.Fatalf("revoked %s, want the live session %s", live, liveS.ID)
	}
	got, err := s.ListSessionsRevokedSince(ctx, now.Add(-time.Hour))
	if err != nil || len(got) != 2 || got[0].ID != live || got[1].ID != recent.ID || !got[1].RevokedAt.Equal(recent.RevokedAt) {
		t.Fatalf("ListSessionsRevokedSince(-1h) = %+v, %v; want %s then %s", got, err, live, recent.ID)
	}
	got, err = s.ListSessionsRevokedSince(ctx, time.Time{})
	if err != nil || len(got) != 3 || got[0].ID != old.ID {
		t.Fatalf("ListSessionsRevokedSince(zero) = %+v, %v; want 3, oldest first (never the live one)", got, err)
	}
}

func testLoginFailures(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond)
	for i := 0; i < 3; i++ {
		if err := s.AddLoginFailure(ctx, "acct:a@example.com", now.Add(-time.Duration(i)*10*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddLoginFailure(ctx, "addr:10.0.0.1", now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key   string
		since time.Time
		want  int
	}{
		{"acct:a@example.com", now.Add(-time.Hour), 3},
		{"acct:a@example.com", now.Add(-15 * time.Minute), 2},
		{"acct:a@example.com", now, 1},
		{"acct:b@example.com", now.Add(-time.Hour), 0},
		{"addr:10.0.0.1", now.Add(-3 * time.Hour), 1},
	}
	for _, tc := range tests {
		if n, err := s.CountLoginFailures(ctx, tc.key, tc.since); err != nil || n != tc.want {
			t.Errorf("CountLoginFailures(%s, %v) = %d, %v; want %d", tc.key, now.Sub(tc.since), n, err, tc.want)
		}
	}
	// The times of a key's failures in a window, oldest first.
	if ts, err := s.LoginFailureTimes(ctx, "acct:a@example.com", now.Add(-time.Hour)); err != nil || len(ts) != 3 || !ts[0].Equal(now.Add(-20*time.Minute)) || !ts[1].Equal(now.Add(-10*time.Minute)) || !ts[2].Equal(now) {
		t.Errorf("LoginFailureTimes(acct:a, 1h) = %v, %v; want 3 times, oldest first", ts, err)
	}
	if ts, err := s.LoginFailureTimes(ctx, "acct:b@example.com", now.Add(-time.Hour)); err != nil || len(ts) != 0 {
		t.Errorf("LoginFailureTimes(acct:b) = %v, %v; want none", ts, err)
	}
	// Clearing one key also prunes everyone's failures older than before.
	if err := s.ClearLoginFailures(ctx, "acct:a@example.com", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountLoginFailures(ctx, "acct:a@example.com", time.Time{}); n != 0 {
		t.Errorf("after clear: %d failures for the account, want 0", n)
	}
	if n, _ := s.CountLoginFailures(ctx, "addr:10.0.0.1", time.Time{}); n != 0 {
		t.Errorf("after prune: %d failures 2h old for the address, want 0", n)
	}
}
