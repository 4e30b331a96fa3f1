package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/conformance"
	"github.com/vdsproject/vds/libs/storage/pgtest"
)

func TestSQLite(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Storage {
		s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "vds.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgres(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Storage {
		s, err := Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vds.db")
	for i := 0; i < 2; i++ {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

// TestConcurrentMigrate: services starting together on one fresh database all succeed and each
// migration is applied once.
func TestConcurrentMigrate(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "vds.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			errs := make(chan error, 6)
			for i := 0; i < 6; i++ {
				go func() {
					s, err := Open(context.Background(), dsn)
					if err == nil {
						s.Close()
					}
					errs <- err
				}()
			}
			for i := 0; i < 6; i++ {
				if err := <-errs; err != nil {
					t.Errorf("concurrent open: %v", err)
				}
			}
			s, err := OpenNoMigrate(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ms, err := s.MigrationStatus(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
				t.Fatalf("%d rows in schema_migrations for %d migrations (%v)", n, len(ms), err)
			}
			for _, m := range ms {
				if !m.Applied {
					t.Errorf("migration %s not applied", m.Name)
				}
			}
		})
	}
}

func TestOpenRefusesUnknownSchemes(t *testing.T) {
	for _, dsn := range []string{"mysql://nowhere/db", "redis://127.0.0.1:6379", "", "sqlite://"} {
		if s, err := Open(context.Background(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		} else if dsn == "mysql://nowhere/db" && !strings.Contains(err.Error(), `scheme "mysql"`) {
			t.Errorf("Open(%q): %v, want it to name the scheme", dsn, err)
		}
	}
}
