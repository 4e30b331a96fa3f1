package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestWriteLockShared: the Stores of one process on one SQLite file (as the services of `vds up`)
// share one write lock, whatever the path's spelling, and writers through both all succeed;
// another file, PostgreSQL and :memory: have their own or none. A write waiting for the lock gives
// up when its context ends.
func TestWriteLockShared(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Open(ctx, "sqlite://"+filepath.Join(dir, "vds.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	t.Chdir(dir)
	if err := os.Mkdir("sub", 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, "./sub/../vds.db")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other, err := Open(ctx, filepath.Join(dir, "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if a.wlock == nil || a.wlock != b.wlock || other.wlock == a.wlock {
		t.Fatalf("locks: a %p, b %p, other %p", a.wlock, b.wlock, other.wlock)
	}
	if m, err := open(":memory:"); err != nil || m.wlock != nil {
		t.Fatalf(":memory: lock %v, %v", m.wlock, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			id := fmt.Sprintf("ds_%03d", i)
			if err := s.CreateResource(ctx, storage.Resource{Kind: "dataset", ID: id, ProjectID: "prj_a", State: "new"}); err != nil {
				errs <- err
				return
			}
			errs <- s.SetResourceState(ctx, "dataset", id, "done", []byte{byte(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if l, err := b.ListResources(ctx, storage.ListQuery{Kind: "dataset", State: "done", Limit: 500}); err != nil || len(l) != 200 {
		t.Fatalf("%d done, %v", len(l), err)
	}
	unlock, err := a.writing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.SetResourceState(cctx, "dataset", "ds_000", "x", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write waiting for the held lock: %v", err)
	}
	unlock()
	if err := b.SetResourceState(ctx, "dataset", "ds_000", "x", nil); err != nil {
		t.Fatal(err)
	}
}
