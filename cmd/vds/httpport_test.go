package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/services/mesh"
)

// TestServerIsHTTPPort: --server pointed at an HTTP/1 server (the gateway's port) failed with
// "http2: frame too large"; every command now says the address looks like the HTTP port and which
// address --server takes: the gRPC address the `vds up` of --home saved, else the default.
func TestServerIsHTTPPort(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	addr := hs.Listener.Addr().String()
	csv := filepath.Join(t.TempDir(), "tips.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	withCreds := t.TempDir()
	if err := mesh.SaveCredentials(withCreds, &mesh.Credentials{APIKey: "vds_key", GRPCAddr: "127.0.0.1:7171"}); err != nil {
		t.Fatal(err)
	}
	want := "--server " + addr + " answered in HTTP/1, not gRPC: it looks like the address of the HTTP gateway (REST API, web app), " +
		"but --server takes the gRPC front door's address. `vds up` prints both: the line \"gRPC front door:\" is the one for --server " +
		"(by default 127.0.0.1:7070; the gateway is http://127.0.0.1:8080)"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		// No --project: the first call is WhoAmI.
		{"who am i", []string{"exec", csv, "--sql", "SELECT 1", "--server", addr, "--api-key", "k", "--home", empty}, "vds: " + want + "\n"},
		// A unary call of the command itself.
		{"get dataset", []string{"exec", "ds_0123456789abcdef", "--sql", "SELECT 1", "--server", addr, "--api-key", "k", "--project", "prj_1", "--home", empty},
			"vds: dataset ds_0123456789abcdef: " + want + "\n"},
		// A stream (the upload) and the gRPC address of the vds up of --home.
		{"upload", []string{"effect", csv, "--treatment", "a", "--outcome", "b", "--server", addr, "--project", "prj_1", "--home", withCreds, "--no-progress"},
			"vds: upload: " + want + "; the last vds up with this --home served gRPC at 127.0.0.1:7171: --server 127.0.0.1:7171\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := cli(t, 30*time.Second, c.args...)
			if code != 1 || errs != c.want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, errs, c.want)
			}
		})
	}
	// The default HTTP port suggests the default gRPC port on the same host.
	if got := httpPortHint("localhost:8080", "").Error(); !strings.HasSuffix(got, "; try --server "+net.JoinHostPort("localhost", "7070")) {
		t.Errorf("hint for :8080: %s", got)
	}
}

// TestServerAddress: --server nonsense said "name resolver error: produced zero addresses"; an
// address that is not HOST:PORT is now refused before dialling (exit 2), and a host that does not
// resolve is named, each saying what --server takes and the default front door.
func TestServerAddress(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "tips.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	takes := "--server takes HOST:PORT, the address of the gRPC front door that `vds up` prints as \"gRPC front door:\" (by default 127.0.0.1:7070)"
	for _, c := range []struct {
		server string
		code   int
		want   string
	}{
		{"nonsense", 2, takes + `, not "nonsense": the port is missing (for example nonsense:7070)`},
		{"localhost:grpc", 2, takes + `, not "localhost:grpc": the port "grpc" is not a number from 1 to 65535`},
		{"nonsense.invalid:7070", 1, `--server nonsense.invalid:7070: the host "nonsense.invalid" could not be resolved to an address; ` + takes},
	} {
		t.Run(c.server, func(t *testing.T) {
			code, _, errs := cli(t, 30*time.Second, "exec", csv, "--sql", "SELECT 1", "--server", c.server, "--api-key", "k", "--home", home, "--no-progress")
			if code != c.code || !strings.Contains(errs, c.want) || strings.Contains(errs, "zero addresses") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and:\n%s", code, errs, c.code, c.want)
			}
		})
	}
}
