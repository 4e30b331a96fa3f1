package sqlstore

import (
	"context"
	"time"

	"github.com/vdsproject/vds/libs/storage"
)

// ListSessionsRevokedSince returns the sessions revoked at or after since, oldest revocation first.
func (s *Store) ListSessionsRevokedSince(ctx context.Context, since time.Time) ([]storage.Session, error) {
	from := us(since)
	if from < 1 {
		from = 1 // revoked_at 0 means "not revoked"
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE revoked_at >= ? ORDER BY revoked_at`), from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// AddLoginFailure records one failed login under key.
func (s *Store) AddLoginFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO login_failures (throttle_key, at) VALUES (?, ?)`), key, us(at))
	return err
}

// CountLoginFailures counts key's failures at or after since.
func (s *Store) CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM login_failures WHERE throttle_key = ? AND at >= ?`), key, us(since)).Scan(&n)
	return n, err
}

// ClearLoginFailures deletes key's failures and every failure older than before.
func (s *Store) ClearLoginFailures(ctx context.Context, key string, before time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE throttle_key = ? OR at < ?`), key, us(before))
	return err
}
