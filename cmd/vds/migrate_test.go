package main

import (
	"bytes"
	"context"
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
			if got := run("--status"); !strings.Contains(got, "pending  0001_init.sql") || strings.Contains(got, "applied") {
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
