package blobstore

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3URL starts an in-memory S3-protocol server on loopback with one bucket and returns the
// s3:// URL that reaches it, as a deployment would configure MinIO or another S3-compatible store.
func fakeS3URL(t *testing.T) string {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("vds-test"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	// The AWS SDK's default credential chain reads these; the fake server accepts any.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	q := url.Values{"endpoint": {srv.URL}, "region": {"us-east-1"}, "use_path_style": {"true"}, "disable_https": {"true"}}
	return "s3://vds-test?" + q.Encode()
}

func TestS3URL(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, fakeS3URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range []string{"ds/ds_1/v1.parquet", "ds/ds_1/v2.parquet", "mdl/mdl_1"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x-"+k), 0); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	keys, err := s.List(ctx, "ds/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "ds/ds_1/v1.parquet,ds/ds_1/v2.parquet" {
		t.Fatalf("List(ds/) = %v", keys)
	}
	w, err := s.Writer(ctx, "big/obj")
	if err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	for i := 0; i < 6; i++ {                           // past one multipart part (5 MiB)
		if _, err := io.WriteString(w, chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}
	r, err := s.Open(ctx, "big/obj")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, r)
	r.Close()
	if n != 6<<20 {
		t.Fatalf("read back %d bytes, want %d", n, 6<<20)
	}
	if err := s.Delete(ctx, "mdl/mdl_1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, "mdl/mdl_1"); ok {
		t.Fatal("deleted object still exists")
	}
	if err := s.Delete(ctx, "mdl/none"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := Open(ctx, "s3://"); err == nil {
		t.Fatal("s3:// without a bucket accepted")
	}
}
