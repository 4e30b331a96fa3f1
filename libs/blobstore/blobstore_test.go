package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestPutLimitAndHash runs the same checks on each backend: the local folder and S3 (a real
// S3-protocol server on loopback, reached through gocloud.dev/blob/s3blob by URL).
func TestPutLimitAndHash(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return FileURL(t.TempDir()) }},
		{"s3", fakeS3URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, tc.url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			testPutLimitAndHash(t, s)
		})
	}
}

func testPutLimitAndHash(t *testing.T, s *Store) {
	ctx := context.Background()
	res, err := s.Put(ctx, "raw/obj_1", strings.NewReader("hello"), 10)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("hello")
	if res.Size != 5 || res.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("Put = %+v", res)
	}
	r, err := s.Open(ctx, "raw/obj_1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	_, err = s.Put(ctx, "raw/obj_2", bytes.NewReader(make([]byte, 11)), 10)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over limit: %v", err)
	}
	if ok, _ := s.Exists(ctx, "raw/obj_2"); ok {
		t.Fatal("partial object left behind")
	}
	keys, _ := s.List(ctx, "")
	if len(keys) != 1 {
		t.Fatalf("keys = %v (no temp files may remain)", keys)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", ""} {
		if _, err := s.Put(ctx, bad, strings.NewReader("x"), 0); err == nil {
			t.Fatalf("key %q accepted", bad)
		}
	}
	if _, err := s.Open(ctx, "raw/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
