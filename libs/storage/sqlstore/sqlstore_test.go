package sqlstore

import (
	"context"
	"path/filepath"
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
