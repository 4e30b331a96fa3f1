package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
)

func init() {
	register("migrate", command{
		usage: "migrate [--database-url URL] [--status]",
		help:  "apply the metadata store's schema migrations (services also apply them at start)",
		run:   cmdMigrate,
	})
}

// sqlitePath is the file of a SQLite store URL (sqlite:///path or a plain path; not :memory:).
func sqlitePath(dsn string) (string, bool) {
	if strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://") {
		return "", false
	}
	p := strings.TrimPrefix(dsn, "sqlite://")
	if p == "" || p == ":memory:" {
		return "", false
	}
	return p, true
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "vds migrate — apply pending schema migrations to the metadata store, then exit", stderr)
	home := fs.String("home", config.DefaultHome(), "state directory; its SQLite database is used when --database-url is empty")
	dbURL := fs.String("database-url", "", "metadata store: postgres://… or sqlite:///path (default: SQLite under --home)")
	fs.StringVar(dbURL, "postgres-url", "", "PostgreSQL metadata store, postgres://… (an alias of --database-url)")
	statusOnly := fs.Bool("status", false, "only list the migrations and whether each is applied")
	create := fs.Bool("create", false, "make the SQLite database when it does not exist yet (without it, a missing file is an error: a mistyped path would get an empty new database)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long (waiting for another migration holds the lock)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("vds migrate takes no arguments, got %q", pos)}
	}
	dsn := *dbURL
	if dsn == "" {
		h, err := filepath.Abs(*home)
		if err != nil {
			return err
		}
		dsn = "sqlite://" + filepath.Join(h, "vds.db")
	}
	if path, ok := sqlitePath(dsn); ok && !*create {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no metadata store at %s: check --home or --database-url (vds up makes it on first start; pass --create to make an empty one there)", path)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := sqlstore.OpenNoMigrate(dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach the metadata store %s: %w", redact(dsn), err)
	}
	if !*statusOnly {
		applied, err := st.MigrateReport(ctx)
		for _, m := range applied {
			fmt.Fprintf(stdout, "applied %s\n", m.Name)
		}
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintf(stdout, "%s is up to date\n", redact(dsn))
		}
		return nil
	}
	ms, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(stdout, "%-8s %s\n", state, m.Name)
	}
	return nil
}

// redact hides a password in a database URL.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return dsn
	}
	if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
		return scheme + "://" + user + ":***" + rest[at:]
	}
	return dsn
}
