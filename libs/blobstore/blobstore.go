// Package blobstore keeps objects (raw uploads, Parquet versions, model artifacts) in a bucket opened
// by URL through gocloud.dev/blob: file:///dir for the embedded default, s3://bucket in production.
// Objects are named by ID only; a user's file name is never part of a key.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	_ "gocloud.dev/blob/s3blob"   // s3://bucket?region=…&endpoint=…&use_path_style=true (AWS SDK v2 credentials chain)
	"gocloud.dev/gcerrors"
)

// ErrTooLarge is returned when a write passes its size limit.
var ErrTooLarge = errors.New("object too large")

// ErrNotFound is returned for a missing object.
var ErrNotFound = errors.New("object not found")

// Store wraps a bucket.
type Store struct {
	b *blob.Bucket
}

// Open opens a bucket URL. A file:// URL's folder is created if missing.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	if strings.HasPrefix(rawURL, "file://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("object store URL %q: %w", rawURL, err)
		}
		if err := os.MkdirAll(u.Path, 0o700); err != nil {
			return nil, fmt.Errorf("object store folder: %w", err)
		}
		q := u.Query()
		if q.Get("no_tmp_dir") == "" {
			q.Set("no_tmp_dir", "true") // temp files beside objects: same file system, atomic rename
		}
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open object store %q: %w", rawURL, err)
	}
	return &Store{b: b}, nil
}

// FileURL is the object-store URL of a local folder.
func FileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "file://" + filepath.ToSlash(abs)
}

// Close closes the bucket.
func (s *Store) Close() error { return s.b.Close() }

// CheckKey refuses keys that could escape or be confused with paths.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") || strings.Contains(key, "\\") {
		return fmt.Errorf("invalid object key %q", key)
	}
	return nil
}

// PutResult describes a stored object.
type PutResult struct {
	Size   int64
	SHA256 string
}

// Put streams r into key, computing SHA-256 on the way, and refuses (deleting the partial object)
// once more than limit bytes arrive (limit <= 0 means no limit). The object appears only when complete.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, limit int64) (PutResult, error) {
	if err := CheckKey(key); err != nil {
		return PutResult{}, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, nil)
	if err != nil {
		return PutResult{}, err
	}
	h := sha256.New()
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(w, h), src)
	if err == nil && limit > 0 && n > limit {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		cancel() // abandons the write: nothing is left behind
		w.Close()
		return PutResult{}, err
	}
	if err := w.Close(); err != nil {
		return PutResult{}, err
	}
	return PutResult{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Writer opens a streaming writer; cancel ctx before Close to abandon it.
func (s *Store) Writer(ctx context.Context, key string) (io.WriteCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	return s.b.NewWriter(ctx, key, nil)
}

// Open reads an object.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	r, err := s.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return r, err
}

// Download copies an object into a local file (for engines that need a path, like DuckDB).
func (s *Store) Download(ctx context.Context, key, path string) error {
	r, err := s.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Upload copies a local file into key.
func (s *Store) Upload(ctx context.Context, path, key string) (PutResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return PutResult{}, err
	}
	defer f.Close()
	return s.Put(ctx, key, f, 0)
}

// Exists reports whether key exists.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	return s.b.Exists(ctx, key)
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.b.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// List returns keys under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o.Key)
	}
}
