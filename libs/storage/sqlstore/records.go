package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/storage"
)

const userCols = `id, email, display_name, password_hash, created_at`

func scanUser(r scanner) (storage.User, error) {
	var u storage.User
	var c int64
	err := r.Scan(&u.ID, &u.Email, &u.DisplayName, &u.PasswordHash, &c)
	u.CreatedAt = tm(c)
	return u, err
}

func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?)`),
		u.ID, strings.ToLower(u.Email), u.DisplayName, u.PasswordHash, us(u.CreatedAt))
	return wrapCreate(err, "user")
}

func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id = ?`), id))
	return u, notFound(err, "user")
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE email = ?`), strings.ToLower(email)))
	return u, notFound(err, "user")
}

func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func (s *Store) UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error)) (storage.User, error) {
	var out storage.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id = ?`+s.forUpdate()), id))
		if err != nil {
			return notFound(err, "user")
		}
		nu, err := fn(old)
		if err != nil {
			return err
		}
		nu.ID = old.ID
		_, err = tx.ExecContext(ctx, s.q(`UPDATE users SET email = ?, display_name = ?, password_hash = ? WHERE id = ?`),
			strings.ToLower(nu.Email), nu.DisplayName, nu.PasswordHash, id)
		out = nu
		return wrapCreate(err, "user")
	})
	return out, err
}

const sessionCols = `id, user_id, refresh_hash, created_at, expires_at, last_used_at, revoked_at`

func scanSession(r scanner) (storage.Session, error) {
	var x storage.Session
	var c, e, l, rv int64
	err := r.Scan(&x.ID, &x.UserID, &x.RefreshHash, &c, &e, &l, &rv)
	x.CreatedAt, x.ExpiresAt, x.LastUsedAt, x.RevokedAt = tm(c), tm(e), tm(l), tm(rv)
	return x, err
}

func (s *Store) CreateSession(ctx context.Context, x storage.Session) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		x.ID, x.UserID, x.RefreshHash, us(x.CreatedAt), us(x.ExpiresAt), us(x.LastUsedAt), us(x.RevokedAt))
	return wrapCreate(err, "session")
}

func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	x, err := scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id))
	return x, notFound(err, "session")
}

func (s *Store) GetSessionByRefreshHash(ctx context.Context, hash string) (storage.Session, error) {
	x, err := scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE refresh_hash = ?`), hash))
	return x, notFound(err, "session")
}

func (s *Store) UpdateSession(ctx context.Context, id string, fn func(storage.Session) (storage.Session, error)) (storage.Session, error) {
	var out storage.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanSession(tx.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`+s.forUpdate()), id))
		if err != nil {
			return notFound(err, "session")
		}
		nx, err := fn(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE sessions SET refresh_hash = ?, expires_at = ?, last_used_at = ?, revoked_at = ? WHERE id = ?`),
			nx.RefreshHash, us(nx.ExpiresAt), us(nx.LastUsedAt), us(nx.RevokedAt), id)
		nx.ID = old.ID
		out = nx
		return wrapCreate(err, "session")
	})
	return out, err
}

func (s *Store) CreateProject(ctx context.Context, p storage.Project, owner storage.Member) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO projects (id, name, created_by, created_at) VALUES (?, ?, ?, ?)`),
			p.ID, p.Name, p.CreatedBy, us(p.CreatedAt)); err != nil {
			return wrapCreate(err, "project")
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`),
			p.ID, owner.UserID, owner.Role, us(owner.CreatedAt))
		return wrapCreate(err, "member")
	})
}

func (s *Store) GetProject(ctx context.Context, id string) (storage.Project, error) {
	var p storage.Project
	var c int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, name, created_by, created_at FROM projects WHERE id = ?`), id).
		Scan(&p.ID, &p.Name, &p.CreatedBy, &c)
	p.CreatedAt = tm(c)
	return p, notFound(err, "project")
}

func (s *Store) ListProjects(ctx context.Context, userID string) ([]storage.ProjectRole, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT p.id, p.name, p.created_by, p.created_at, m.role
		FROM projects p JOIN members m ON m.project_id = p.id WHERE m.user_id = ? ORDER BY p.created_at, p.id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.ProjectRole
	for rows.Next() {
		var p storage.ProjectRole
		var c int64
		if err := rows.Scan(&p.ID, &p.Name, &p.CreatedBy, &c, &p.Role); err != nil {
			return nil, err
		}
		p.CreatedAt = tm(c)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) PutMember(ctx context.Context, m storage.Member) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE members SET role = ? WHERE project_id = ? AND user_id = ?`), m.Role, m.ProjectID, m.UserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`),
			m.ProjectID, m.UserID, m.Role, us(m.CreatedAt))
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			return fmt.Errorf("member: project or user: %w", storage.ErrNotFound)
		}
		return err
	})
}

func (s *Store) GetMember(ctx context.Context, projectID, userID string) (storage.Member, error) {
	var m storage.Member
	var c int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT project_id, user_id, role, created_at FROM members WHERE project_id = ? AND user_id = ?`),
		projectID, userID).Scan(&m.ProjectID, &m.UserID, &m.Role, &c)
	m.CreatedAt = tm(c)
	return m, notFound(err, "member")
}

func (s *Store) ListMembers(ctx context.Context, projectID string) ([]storage.Member, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT project_id, user_id, role, created_at FROM members WHERE project_id = ? ORDER BY created_at, user_id`), projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Member
	for rows.Next() {
		var m storage.Member
		var c int64
		if err := rows.Scan(&m.ProjectID, &m.UserID, &m.Role, &c); err != nil {
			return nil, err
		}
		m.CreatedAt = tm(c)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) DeleteMember(ctx context.Context, projectID, userID string) error {
	res, err := s.exec(ctx, s.q(`DELETE FROM members WHERE project_id = ? AND user_id = ?`), projectID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("member: %w", storage.ErrNotFound)
	}
	return nil
}

const keyCols = `id, project_id, user_id, name, prefix, hash, scope, created_at, last_used_at, revoked_at`

func scanKey(r scanner) (storage.APIKey, error) {
	var k storage.APIKey
	var c, l, rv int64
	err := r.Scan(&k.ID, &k.ProjectID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &k.Scope, &c, &l, &rv)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = tm(c), tm(l), tm(rv)
	return k, err
}

func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO api_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.ProjectID, k.UserID, k.Name, k.Prefix, k.Hash, k.Scope, us(k.CreatedAt), us(k.LastUsedAt), us(k.RevokedAt))
	return wrapCreate(err, "api key")
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (storage.APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE id = ?`), id))
	return k, notFound(err, "api key")
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (storage.APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE hash = ?`), hash))
	return k, notFound(err, "api key")
}

func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]storage.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE project_id = ? ORDER BY created_at, id`), projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) UpdateAPIKey(ctx context.Context, id string, fn func(storage.APIKey) (storage.APIKey, error)) (storage.APIKey, error) {
	var out storage.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanKey(tx.QueryRowContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE id = ?`+s.forUpdate()), id))
		if err != nil {
			return notFound(err, "api key")
		}
		nk, err := fn(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_keys SET name = ?, scope = ?, last_used_at = ?, revoked_at = ? WHERE id = ?`),
			nk.Name, nk.Scope, us(nk.LastUsedAt), us(nk.RevokedAt), id)
		nk.ID, nk.Hash, nk.ProjectID, nk.UserID = old.ID, old.Hash, old.ProjectID, old.UserID
		out = nk
		return err
	})
	return out, err
}

func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO audit_events (id, time, actor_id, action, project_id, target_id, client_address, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		e.ID, us(e.Time), e.ActorID, e.Action, e.ProjectID, e.TargetID, e.ClientAddress, jsonMap(e.Details))
	return wrapCreate(err, "audit event")
}

func (s *Store) ListAudit(ctx context.Context, projectID string, limit int, before time.Time) ([]storage.AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	b := us(before)
	if b == 0 {
		b = 1 << 62
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, time, actor_id, action, project_id, target_id, client_address, details
		FROM audit_events WHERE project_id = ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?`), projectID, b, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.AuditEvent
	for rows.Next() {
		var e storage.AuditEvent
		var t int64
		var d string
		if err := rows.Scan(&e.ID, &t, &e.ActorID, &e.Action, &e.ProjectID, &e.TargetID, &e.ClientAddress, &d); err != nil {
			return nil, err
		}
		e.Time, e.Details = tm(t), parseMap(d)
		out = append(out, e)
	}
	return out, rows.Err()
}
