package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/storage"
)

const resCols = `kind, id, project_id, parent_id, res_key, state, data, created_at, updated_at`

func scanRes(r scanner) (storage.Resource, error) {
	var x storage.Resource
	var c, u int64
	err := r.Scan(&x.Kind, &x.ID, &x.ProjectID, &x.ParentID, &x.Key, &x.State, &x.Data, &c, &u)
	x.CreatedAt, x.UpdatedAt = tm(c), tm(u)
	return x, err
}

func (s *Store) CreateResource(ctx context.Context, r storage.Resource) error {
	if r.Kind == "" || r.ID == "" {
		return fmt.Errorf("resource: kind and id are required")
	}
	now := time.Now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	_, err := s.exec(ctx, s.q(`INSERT INTO resources (`+resCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.Kind, r.ID, r.ProjectID, r.ParentID, r.Key, r.State, r.Data, us(r.CreatedAt), us(r.UpdatedAt))
	return wrapCreate(err, r.Kind)
}

func (s *Store) GetResource(ctx context.Context, kind, id string) (storage.Resource, error) {
	r, err := scanRes(s.db.QueryRowContext(ctx, s.q(`SELECT `+resCols+` FROM resources WHERE kind = ? AND id = ?`), kind, id))
	return r, notFound(err, kind)
}

func (s *Store) GetResourceByKey(ctx context.Context, kind, projectID, key string) (storage.Resource, error) {
	if key == "" {
		return storage.Resource{}, fmt.Errorf("%s: empty key: %w", kind, storage.ErrNotFound)
	}
	r, err := scanRes(s.db.QueryRowContext(ctx, s.q(`SELECT `+resCols+` FROM resources WHERE kind = ? AND project_id = ? AND res_key = ?`), kind, projectID, key))
	return r, notFound(err, kind)
}

func (s *Store) UpdateResource(ctx context.Context, kind, id string, fn func(storage.Resource) (storage.Resource, error)) (storage.Resource, error) {
	var out storage.Resource
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanRes(tx.QueryRowContext(ctx, s.q(`SELECT `+resCols+` FROM resources WHERE kind = ? AND id = ?`+s.forUpdate()), kind, id))
		if err != nil {
			return notFound(err, kind)
		}
		nr, err := fn(old)
		if err != nil {
			return err
		}
		nr.Kind, nr.ID, nr.CreatedAt = old.Kind, old.ID, old.CreatedAt
		nr.UpdatedAt = time.Now()
		if nr.Data == nil {
			nr.Data = []byte{}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE resources SET project_id = ?, parent_id = ?, res_key = ?, state = ?, data = ?, updated_at = ? WHERE kind = ? AND id = ?`),
			nr.ProjectID, nr.ParentID, nr.Key, nr.State, nr.Data, us(nr.UpdatedAt), kind, id)
		out = nr
		return wrapCreate(err, kind)
	})
	return out, err
}

func (s *Store) SetResourceState(ctx context.Context, kind, id, state string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	res, err := s.exec(ctx, s.q(`UPDATE resources SET state = ?, data = ?, updated_at = ? WHERE kind = ? AND id = ?`),
		state, data, us(time.Now()), kind, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%s %s: %w", kind, id, storage.ErrNotFound)
	}
	return nil
}

func (s *Store) ListResources(ctx context.Context, q storage.ListQuery) ([]storage.Resource, error) {
	if q.Kind == "" {
		return nil, fmt.Errorf("list: kind is required")
	}
	where := []string{"kind = ?"}
	args := []any{q.Kind}
	if q.ProjectID != "" {
		where, args = append(where, "project_id = ?"), append(args, q.ProjectID)
	}
	if q.ParentID != "" {
		where, args = append(where, "parent_id = ?"), append(args, q.ParentID)
	}
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, q.State)
	}
	if q.BeforeID != "" {
		where = append(where, "(created_at, id) < (SELECT created_at, id FROM resources WHERE kind = ? AND id = ?)")
		args = append(args, q.Kind, q.BeforeID)
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+resCols+` FROM resources WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Resource
	for rows.Next() {
		r, err := scanRes(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) DeleteResource(ctx context.Context, kind, id string) error {
	res, err := s.exec(ctx, s.q(`DELETE FROM resources WHERE kind = ? AND id = ?`), kind, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", kind, storage.ErrNotFound)
	}
	return nil
}

func (s *Store) AddEdges(ctx context.Context, edges []storage.Edge) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range edges {
			if e.CreatedAt.IsZero() {
				e.CreatedAt = time.Now()
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO lineage_edges (from_id, to_id, operation, params, created_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (from_id, to_id, operation) DO NOTHING`), e.FromID, e.ToID, e.Operation, jsonMap(e.Params), us(e.CreatedAt))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) EdgesInto(ctx context.Context, ids []string) ([]storage.Edge, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT from_id, to_id, operation, params, created_at FROM lineage_edges WHERE to_id IN (`+ph+`) ORDER BY created_at, from_id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Edge
	for rows.Next() {
		var e storage.Edge
		var p string
		var c int64
		if err := rows.Scan(&e.FromID, &e.ToID, &e.Operation, &p, &c); err != nil {
			return nil, err
		}
		e.Params, e.CreatedAt = parseMap(p), tm(c)
		out = append(out, e)
	}
	return out, rows.Err()
}
