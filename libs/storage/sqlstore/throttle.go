package sqlstore

import (
	"context"
	"database/sql"
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
	_, err := s.exec(ctx, s.q(`INSERT INTO login_failures (throttle_key, at) VALUES (?, ?)`), key, us(at))
	return err
}

// CountLoginFailures counts key's failures at or after since.
func (s *Store) CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM login_failures WHERE throttle_key = ? AND at >= ?`), key, us(since)).Scan(&n)
	return n, err
}

// LoginFailureTimes returns the times of key's failures at or after since, oldest first.
func (s *Store) LoginFailureTimes(ctx context.Context, key string, since time.Time) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at FROM login_failures WHERE throttle_key = ? AND at >= ? ORDER BY at`), key, us(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, tm(at))
	}
	return out, rows.Err()
}

// ClearLoginFailures deletes key's failures and every failure older than before.
func (s *Store) ClearLoginFailures(ctx context.Context, key string, before time.Time) error {
	_, err := s.exec(ctx, s.q(`DELETE FROM login_failures WHERE throttle_key = ? OR at < ?`), key, us(before))
	return err
}

// RevokeUserSessions revokes every live session of userID except keep.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) ([]string, error) {
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM sessions WHERE user_id = ? AND id <> ? AND revoked_at = 0 AND expires_at > ?`+s.forUpdate()), userID, keep, us(at))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE sessions SET revoked_at = ? WHERE id = ?`), us(at), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
