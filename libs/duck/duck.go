// Package duck holds the shared DuckDB helpers: a locked-down connection, streaming Arrow reads of a
// dataset's Parquet file (projection, row filters, limit) and the read-only SQL sandbox.
//
// Every function here opens its own in-memory DuckDB database with one connection. DuckDB's Arrow
// handle is not safe for concurrent use, so a Conn (and any reader it returns) belongs to one goroutine.
package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Sentinel errors; callers map them to gRPC codes (InvalidArgument, ResourceExhausted, ...).
var (
	// ErrInvalidArgument marks bad input: an unknown column, a bad filter, a refused statement.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrResourceExhausted marks a query stopped by a limit (rows, memory).
	ErrResourceExhausted = errors.New("resource exhausted")
)

// DefaultMemoryLimit is used when a Config leaves MemoryLimit empty.
const DefaultMemoryLimit = "1GB"

// Config describes a DuckDB connection before it is locked.
type Config struct {
	// MemoryLimit is DuckDB's memory_limit, e.g. "512MB"; empty means DefaultMemoryLimit.
	MemoryLimit string
	// Threads is DuckDB's thread count; 0 means the number of CPUs.
	Threads int
	// TempDir is a private folder DuckDB may spill to; empty disables spilling.
	TempDir string
	// MaxTempSize bounds TempDir (DuckDB's max_temp_directory_size), e.g. "20GB"; empty means DuckDB's default.
	MaxTempSize string
	// ReadPaths are single files DuckDB may still open once external access is off.
	ReadPaths []string
	// Dirs are folders DuckDB may still read and write once external access is off.
	Dirs []string
	// HidePaths sets DuckDB's home, extension and secret directories to /nonexistent, so that
	// they do not name this machine's folders (extensions are never loaded and secrets never
	// stored). The sandbox sets it; it also refuses queries that read settings (see SQL).
	HidePaths bool
}

// ColumnInfo is one column of a Parquet file as DuckDB sees it.
type ColumnInfo struct {
	Name string
	// Type is DuckDB's SQL type name, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP.
	Type string
}

// Conn is one connection to a private in-memory DuckDB database.
type Conn struct {
	db     *sql.DB
	conn   *sql.Conn
	locked bool
}

// Open opens a private in-memory database configured by cfg. Extensions are never installed or
// auto-loaded (the built-in Parquet, JSON and ICU are linked in). Call Lock once everything the
// connection needs (files, views) is set up.
func Open(ctx context.Context, cfg Config) (*Conn, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb connection: %w", err)
	}
	c := &Conn{db: db, conn: conn}
	mem := cfg.MemoryLimit
	if mem == "" {
		mem = DefaultMemoryLimit
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	stmts := []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET memory_limit = " + Literal(mem),
		fmt.Sprintf("SET threads = %d", threads),
		"SET TimeZone = 'UTC'",
		"SET temp_directory = " + Literal(cfg.TempDir),
	}
	if cfg.HidePaths {
		stmts = append(stmts, "SET home_directory = '/nonexistent'", "SET extension_directory = '/nonexistent'", "SET secret_directory = '/nonexistent'")
	}
	if cfg.MaxTempSize != "" {
		stmts = append(stmts, "SET max_temp_directory_size = "+Literal(cfg.MaxTempSize))
	}
	if len(cfg.ReadPaths) > 0 {
		stmts = append(stmts, "SET allowed_paths = "+literalList(cfg.ReadPaths))
	}
	dirs := append([]string(nil), cfg.Dirs...)
	if cfg.TempDir != "" {
		dirs = append(dirs, cfg.TempDir)
	}
	if len(dirs) > 0 {
		stmts = append(stmts, "SET allowed_directories = "+literalList(dirs))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			c.Close()
			return nil, fmt.Errorf("configure duckdb (%s): %w", s, err)
		}
	}
	return c, nil
}

// Lock turns external access off (only the configured ReadPaths and Dirs stay reachable) and locks
// the configuration so no later statement can change a setting.
func (c *Conn) Lock(ctx context.Context) error {
	if c.locked {
		return nil
	}
	for _, s := range []string{"SET enable_external_access = false", "SET lock_configuration = true"} {
		if _, err := c.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("lock duckdb (%s): %w", s, err)
		}
	}
	c.locked = true
	return nil
}

// SQL returns the underlying connection for plain database/sql use.
func (c *Conn) SQL() *sql.Conn { return c.conn }

// Exec runs a statement that returns no rows.
func (c *Conn) Exec(ctx context.Context, query string, args ...any) error {
	_, err := c.conn.ExecContext(ctx, query, args...)
	return err
}

// Close closes the connection and the database.
func (c *Conn) Close() error {
	if c == nil || c.db == nil {
		return nil
	}
	err := errors.Join(c.conn.Close(), c.db.Close())
	c.db = nil
	return err
}

// Ident quotes an SQL identifier (a column or table name) for DuckDB.
func Ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Literal quotes a string as an SQL string literal. Use it only where DuckDB does not accept a bound
// parameter (SET values, table function arguments inside views); bind values everywhere else.
func Literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ParquetScan is a read_parquet call for exactly one file: no Hive partition columns are made up
// from folder names such as "k=v" in the path.
func ParquetScan(path string, options ...string) string {
	return "read_parquet(" + strings.Join(append([]string{Literal(path), "hive_partitioning = false"}, options...), ", ") + ")"
}

func literalList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = Literal(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
