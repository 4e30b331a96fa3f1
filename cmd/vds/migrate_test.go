package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/storage/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite under home", func(t *testing.T) []string { return []string{"--home", t.TempDir()} }},
		{"sqlite URL", func(t *testing.T) []string {
			return []string{"--database-url", "sqlite://" + filepath.Join(t.TempDir(), "x", "vds.db")}
		}},
		{"postgres", func(t *testing.T) []string { return []string{"--postgres-url", pgtest.URL(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args(t)
			run := func(extra ...string) string {
				var out, errb bytes.Buffer
				if err := cmdMigrate(context.Background(), append(append([]string{}, args...), extra...), &out, &errb); err != nil {
					t.Fatalf("vds migrate %v: %v (%s)", extra, err, errb.String())
				}
				return out.String()
			}
			if !strings.Contains(tc.name, "postgres") {
				// A missing SQLite file (a mistyped --home or path) is an error, and nothing is made.
				var out, errb bytes.Buffer
				err := cmdMigrate(context.Background(), append(append([]string{}, args...), "--status"), &out, &errb)
				if err == nil || !strings.Contains(err.Error(), "no metadata store at ") || !strings.Contains(err.Error(), "--create") {
					t.Fatalf("migrate of a missing SQLite file: %v, want the error naming it and --create", err)
				}
				p, _, _ := strings.Cut(strings.SplitN(err.Error(), "no metadata store at ", 2)[1], ": check")
				if _, serr := os.Stat(p); !os.IsNotExist(serr) || filepath.Base(p) != "vds.db" {
					t.Fatalf("%s after the refusal: %v", p, serr)
				}
			}
			if got := run("--status", "--create"); !strings.Contains(got, "pending  0001_init.sql") || strings.Contains(got, "applied") {
				t.Fatalf("status of a fresh store:\n%s", got)
			}
			if got := run(); !strings.Contains(got, "applied 0001_init.sql") || !strings.Contains(got, "applied 0002_") {
				t.Fatalf("first migrate:\n%s", got)
			}
			if got := run(); !strings.Contains(got, "is up to date") {
				t.Fatalf("second migrate:\n%s", got)
			}
			if got := run("--status"); strings.Contains(got, "pending") || !strings.Contains(got, "applied  0002_") {
				t.Fatalf("status after migrate:\n%s", got)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db:5432/vds": "postgres://u:***@db:5432/vds",
		"postgres://u@db/vds":             "postgres://u@db/vds",
		"sqlite:///tmp/vds.db":            "sqlite:///tmp/vds.db",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
