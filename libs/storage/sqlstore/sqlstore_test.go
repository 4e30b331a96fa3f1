package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/conformance"
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

// PostgresURL is the test server: VDS_TEST_POSTGRES_URL or the CI machine's local server.
func postgresURL() string {
	if u := os.Getenv("VDS_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func TestPostgres(t *testing.T) {
	ctx := context.Background()
	admin, err := OpenNoMigrate(postgresURL())
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = admin.Ping(pctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable in CI: %v", postgresURL(), err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set VDS_TEST_POSTGRES_URL", err)
	}
	defer admin.Close()
	n := 0
	conformance.RunTests(t, func(t *testing.T) storage.Storage {
		n++
		schema := fmt.Sprintf("vds_test_%d_%d", time.Now().UnixNano(), n)
		if _, err := admin.db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		sep := "?"
		if strings.Contains(postgresURL(), "?") {
			sep = "&"
		}
		s, err := Open(ctx, postgresURL()+sep+"search_path="+schema)
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
