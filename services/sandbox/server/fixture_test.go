package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/services/mesh"
)

// fixture is one test's platform: the whole mesh on a fresh home, and a client of its bootstrap
// admin (API key). Both stop when the test ends. The services' settings are the VDS_* variables
// set before newFixture.
type fixture struct {
	home    string
	p       *mesh.Platform
	c       *client.Client
	stopped sync.Once
	stopErr error
}

// stop stops the mesh (once; the test's end calls it too) and returns Stop's error.
func (f *fixture) stop() error {
	f.stopped.Do(func() { f.stopErr = f.p.Stop() })
	return f.stopErr
}

// newFixture starts the fixture on a fresh home, the mesh logging to log (nil: nowhere).
func newFixture(t *testing.T, log io.Writer) *fixture {
	t.Helper()
	return newFixtureAt(t, t.TempDir(), log)
}

// newFixtureAt is newFixture on the given home.
func newFixtureAt(t *testing.T, home string, log io.Writer) *fixture {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	ctx := context.Background()
	f := &fixture{home: home}
	p, err := mesh.Up(ctx, mesh.Options{Home: f.home, Bootstrap: true, Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	t.Cleanup(func() { f.stop() })
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f.c = c
	return f
}

// readOnly returns a client with a new read-only API key of the bootstrap project (closed when the
// test ends).
func (f *fixture) readOnly(t *testing.T) *client.Client {
	t.Helper()
	ctx := context.Background()
	key, err := f.c.Auth.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{ProjectId: f.p.Creds.ProjectID, Name: "read only", Scope: authv1.Scope_SCOPE_READ})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(ctx, f.p.GRPCAddr, client.WithAPIKey(key.Key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// upload uploads the file at path into project through c, waits for its ingest, and returns the
// version.
func upload(t *testing.T, c *client.Client, project, path string) *commonv1.DatasetRef {
	t.Helper()
	ctx := context.Background()
	up, err := c.UploadFile(ctx, project, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		t.Fatal(err)
	}
	return &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
}

// register signs a new user up (an email starting with who) with a project of their own, and
// returns a client acting as them (closed when the test ends) and their email.
func register(t *testing.T, addr, who string) (*client.Client, string) {
	t.Helper()
	ctx := context.Background()
	anon, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	email, pw := who+"-"+strings.ToLower(ids.New(ids.User))+"@example.test", "a long enough "+who+" password"
	if _, err := anon.Auth.Register(ctx, &authv1.RegisterRequest{Email: email, Password: pw}); err != nil {
		t.Fatal(err)
	}
	l, err := anon.Auth.Login(ctx, &authv1.LoginRequest{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(ctx, addr, client.WithToken(l.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, email
}

// strangerClient registers a user with a project of their own and returns a client acting as them.
func strangerClient(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, _ := register(t, addr, "stranger")
	return c
}
