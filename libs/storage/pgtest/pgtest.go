// Package pgtest gives tests a fresh PostgreSQL schema on the test server: VDS_TEST_POSTGRES_URL, or
// the CI machine's postgres://postgres@127.0.0.1:5432/test. When the server is unreachable the test
// is skipped, except under CI=true, where that is a failure.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// BaseURL is the test server's URL.
func BaseURL() string {
	if u := os.Getenv("VDS_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var n atomic.Int64

// URL creates an empty schema, drops it when t ends, and returns a URL whose search_path is it.
func URL(t testing.TB) string {
	t.Helper()
	db, err := sql.Open("pgx", BaseURL())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable in CI: %v", BaseURL(), err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set VDS_TEST_POSTGRES_URL to run this test", err)
	}
	schema := fmt.Sprintf("vds_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), n.Add(1))
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(BaseURL(), "?") {
		sep = "&"
	}
	return BaseURL() + sep + "search_path=" + schema
}
