// Package sqlstore implements storage.Storage on SQL databases: SQLite through modernc.org/sqlite
// (pure Go, the embedded default) and PostgreSQL through pgx/v5. Both run the same embedded,
// versioned migrations and the same queries (placeholders are rewritten per flavor).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"

	"github.com/vdsproject/vds/libs/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

type flavor int

const (
	sqlite flavor = iota
	postgres
)

// Store is a SQL-backed storage.Storage.
type Store struct {
	db     *sql.DB
	flavor flavor
	// wlock serializes this process's writes to one SQLite file (nil for PostgreSQL). SQLite lets
	// one writer in at a time and makes the others wait in its busy handler, which sleeps for
	// whole milliseconds (1, 2, 5… ms) before it looks again; the services of one process share
	// the file, so a write that met another waited about a millisecond where a Go lock wakes it
	// as soon as the other commits. Writers in other processes still meet the busy handler.
	wlock chan struct{}
}

// fileLocks holds one write lock per SQLite file opened in this process.
var fileLocks = struct {
	sync.Mutex
	m map[string]chan struct{}
}{m: map[string]chan struct{}{}}

func fileLock(path string) chan struct{} {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fileLocks.Lock()
	defer fileLocks.Unlock()
	l, ok := fileLocks.m[path]
	if !ok {
		l = make(chan struct{}, 1)
		fileLocks.m[path] = l
	}
	return l
}

// writing takes the process's write lock on the file (a no-op for PostgreSQL); the returned
// function releases it.
func (s *Store) writing(ctx context.Context) (func(), error) {
	if s.wlock == nil {
		return func() {}, nil
	}
	select {
	case s.wlock <- struct{}{}:
		return func() { <-s.wlock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one writing statement under the write lock.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := s.writing(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.db.ExecContext(ctx, query, args...)
}

var _ storage.Storage = (*Store)(nil)

// Open connects to url ("sqlite:///path/to/file.db", a plain file path, "postgres://…") and applies
// pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := open(dsn)
	if err != nil {
		return nil, err
	}
	// SQLite can answer SQLITE_BUSY at once, without waiting out busy_timeout, when several
	// connections start a fresh database together (the switch to WAL, a read lock upgraded to a
	// write lock): such a migration is retried for up to 20 s.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = s.Migrate(ctx)
		if err == nil {
			return s, nil
		}
		if s.flavor != sqlite || !isBusy(err) || time.Now().After(deadline) || ctx.Err() != nil {
			s.db.Close()
			return nil, err
		}
		time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
	}
}

// isBusy reports SQLite's "database is locked" errors.
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// OpenNoMigrate connects without migrating (for `vds migrate` style tools).
func OpenNoMigrate(dsn string) (*Store, error) { return open(dsn) }

func open(dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(10)
		return &Store{db: db, flavor: postgres}, nil
	}
	if i := strings.Index(dsn, "://"); i >= 0 && !strings.HasPrefix(dsn, "sqlite://") {
		return nil, fmt.Errorf("unsupported database URL scheme %q: use sqlite:///path/to/vds.db or postgres://user@host:5432/db", dsn[:i])
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	if path == "" {
		return nil, errors.New("storage URL is empty: use sqlite:///path/to/vds.db or postgres://…")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
		// Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open database file: %w", err)
		}
		f.Close()
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(4)
	st := &Store{db: db, flavor: sqlite}
	if path != ":memory:" {
		st.wlock = fileLock(path)
	}
	return st, nil
}

// Ping checks the connection.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// migrationLock is the PostgreSQL advisory lock key held while migrating, so that services (or
// replicas) starting together on one database apply each migration exactly once.
const migrationLock = 0x766473 // "vds"

// Migrate applies the embedded migrations not yet applied, each in its own transaction. On
// PostgreSQL it holds an advisory lock meanwhile, so concurrent starts wait for each other.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.migrate(ctx)
	return err
}

// Migration is one embedded migration and whether it is applied.
type Migration struct {
	Version int
	Name    string
	Applied bool
}

// MigrationStatus lists the embedded migrations and which are applied, without changing anything.
func (s *Store) MigrationStatus(ctx context.Context) ([]Migration, error) {
	all, err := embedded()
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err == nil {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			applied[v] = true
		}
		rows.Close()
	} // no table yet: nothing applied
	for i := range all {
		all[i].Applied = applied[all[i].Version]
	}
	return all, nil
}

func embedded() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []Migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", e.Name())
		}
		out = append(out, Migration{Version: v, Name: e.Name()})
	}
	return out, nil
}

// MigrateReport applies pending migrations and returns the ones it applied.
func (s *Store) MigrateReport(ctx context.Context) ([]Migration, error) { return s.migrate(ctx) }

func (s *Store) migrate(ctx context.Context) ([]Migration, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.flavor == postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	all, err := embedded()
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range all {
		body, err := migrations.ReadFile("migrations/" + m.Name)
		if err != nil {
			return nil, err
		}
		applied := false
		err = func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range strings.Split(s.ddl(string(body)), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w in: %s", err, strings.TrimSpace(stmt))
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), m.Version, time.Now().UnixMicro()); err != nil {
				return err
			}
			applied = true
			return tx.Commit()
		}()
		if err != nil {
			return done, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if applied {
			m.Applied = true
			done = append(done, m)
		}
	}
	return done, nil
}

func (s *Store) ddl(body string) string {
	if s.flavor == postgres {
		return strings.ReplaceAll(body, "{{BLOB}}", "BYTEA")
	}
	return strings.ReplaceAll(body, "{{BLOB}}", "BLOB")
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *Store) q(query string) string {
	if s.flavor != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	unlock, err := s.writing(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) forUpdate() string {
	if s.flavor == postgres {
		return " FOR UPDATE"
	}
	return "" // SQLite transactions begin IMMEDIATE: the write lock is already held.
}

// isUnique reports a unique-constraint violation in either flavor.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") ||
		strings.Contains(m, "duplicate key value")
}

func wrapCreate(err error, what string) error {
	if isUnique(err) {
		return fmt.Errorf("%s: %w", what, storage.ErrAlreadyExists)
	}
	return err
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return err
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func parseMap(s string) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

type scanner interface{ Scan(...any) error }
