package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
)

// multipartSlack is what the form may carry besides the file: boundaries, part headers, small fields.
const multipartSlack = 1 << 20

// maxFieldBytes bounds a form field other than the file.
const maxFieldBytes = 4096

// upload serves POST /v1/projects/{project_id}/datasets:upload: a multipart/form-data body with a
// "file" part, streamed — never held whole — into ingestion's client-streaming Upload in
// UploadChunkBytes chunks. Optional settings come as query parameters or as form fields sent before
// the file: name, dataset_id (a new version of that dataset), format, delimiter, encoding, header,
// size_bytes. The answer is the UploadResponse as JSON.
func (g *gateway) upload(w http.ResponseWriter, r *http.Request) {
	limit := g.opts.MaxUploadBytes
	if limit >= 0 {
		if r.ContentLength > limit+multipartSlack {
			g.tooLarge(w, r, limit, "--max-upload-bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tail := &tailReader{r: r.Body}
	r.Body = struct {
		io.Reader
		io.Closer
	}{tail, r.Body}
	mr, err := r.MultipartReader()
	if err != nil {
		g.invalid(w, r, "body", `must be multipart/form-data with a "file" part`)
		return
	}
	q := r.URL.Query()
	meta := &datasetsv1.UploadMetadata{ProjectId: r.PathValue("project_id")}
	opts := &datasetsv1.ReadOptions{}
	set := func(field, v string) bool {
		switch field {
		case "name":
			meta.Name = v
		case "dataset_id":
			meta.DatasetId = v
		case "format":
			opts.Format = v
		case "delimiter":
			opts.Delimiter = v
		case "encoding":
			opts.Encoding = v
		case "header":
			b, err := strconv.ParseBool(v)
			if err != nil {
				g.invalid(w, r, "header", "must be true or false")
				return false
			}
			opts.Header = &b
		case "size_bytes":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				g.invalid(w, r, "size_bytes", "must be a non-negative integer")
				return false
			}
			meta.SizeBytes = n
		}
		return true
	}
	for _, f := range []string{"name", "dataset_id", "format", "delimiter", "encoding", "header", "size_bytes"} {
		if v := q.Get(f); v != "" && !set(f, v) {
			return
		}
	}

	var file *multipart.Part
	for file == nil {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			g.invalid(w, r, "file", `is required: send the data as the form part named "file"`)
			return
		}
		if err != nil {
			g.bodyError(w, r, err, limit)
			return
		}
		switch name := part.FormName(); name {
		case "file":
			file = part
		case "name", "dataset_id", "format", "delimiter", "encoding", "header", "size_bytes":
			v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				g.bodyError(w, r, err, limit)
				return
			}
			if len(v) > maxFieldBytes {
				g.invalid(w, r, name, "is too long")
				return
			}
			if !set(name, string(v)) {
				return
			}
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				g.bodyError(w, r, err, limit)
				return
			}
		}
	}
	meta.FileName = formFileName(file.FileName()) // the base name only: metadata, never a path
	if opts.Format != "" || opts.Delimiter != "" || opts.Encoding != "" || opts.Header != nil {
		meta.Options = opts
	}
	if limit >= 0 && meta.SizeBytes > limit {
		g.tooLarge(w, r, limit, "--max-upload-bytes")
		return
	}

	ctx, err := g.annotate(r, datasetsv1.DatasetService_Upload_FullMethodName, UploadPath)
	if err != nil {
		g.writeStatus(w, r, status.Convert(err), http.StatusBadRequest)
		return
	}
	// Any failure before the end cancels the call, so ingestion stores nothing from a partial file.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := datasetsv1.NewDatasetServiceClient(g.b.conn(Ingestion)).Upload(ctx)
	if err != nil {
		g.uploadError(w, r, err)
		return
	}
	if err := stream.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: meta}}); err != nil {
		g.uploadSendError(w, r, stream, err)
		return
	}
	var total int64
	for {
		buf := make([]byte, UploadChunkBytes) // fresh each time: gRPC may hold a sent message for a while
		n, rerr := readChunk(file, buf)
		if n > 0 {
			total += int64(n)
			if limit >= 0 && total > limit {
				cancel()
				g.tooLarge(w, r, limit, "--max-upload-bytes")
				return
			}
			if err := stream.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				g.uploadSendError(w, r, stream, err)
				return
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			cancel()
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				g.invalid(w, r, "body", "ended inside the file part, before the multipart closing boundary: the upload was cut short and nothing was stored; send the whole file again")
				return
			}
			g.bodyError(w, r, rerr, limit)
			return
		}
	}
	// The form must end properly after the file (its closing boundary); further parts are read and
	// ignored, except a second file, which is refused; a body cut short after the file part is
	// refused too.
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			// mime/multipart also ends at a body that stops after a part's boundary line: the closing
			// delimiter itself must have come.
			if !bytes.Contains(tail.tail, []byte("--"+params["boundary"]+"--")) {
				err = io.ErrUnexpectedEOF
			} else {
				break
			}
		} else if err == nil {
			if part.FormName() == "file" {
				cancel()
				g.invalid(w, r, "file", "was sent twice: upload one file per request; nothing was stored")
				return
			}
			_, err = io.Copy(io.Discard, part)
		}
		if err != nil {
			cancel()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				g.invalid(w, r, "body", "ended before the multipart closing boundary: the upload was cut short and nothing was stored; send the whole file again")
				return
			}
			g.bodyError(w, r, err, limit)
			return
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		g.uploadError(w, r, err)
		return
	}
	g.writeProto(w, resp)
}

func (g *gateway) uploadSendError(w http.ResponseWriter, r *http.Request, stream datasetsv1.DatasetService_UploadClient, err error) {
	if errors.Is(err, io.EOF) { // ingestion ended the call: its status says why
		_, err = stream.CloseAndRecv()
	}
	g.uploadError(w, r, err)
}

// uploadError maps the Upload status; ResourceExhausted (the file is over ingestion's limit) is 413.
func (g *gateway) uploadError(w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(backendError(Ingestion, err))
	code := httpStatus(st.Code())
	if st.Code() == codes.ResourceExhausted {
		code = http.StatusRequestEntityTooLarge
	}
	g.writeStatus(w, r, st, code)
}

func (g *gateway) bodyError(w http.ResponseWriter, r *http.Request, err error, limit int64) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		g.tooLarge(w, r, limit, "--max-upload-bytes")
		return
	}
	g.invalid(w, r, "body", "could not be read as multipart/form-data: "+err.Error())
}

func (g *gateway) invalid(w http.ResponseWriter, r *http.Request, field, reason string) {
	g.writeStatus(w, r, status.Newf(codes.InvalidArgument, "%s: %s", field, reason), http.StatusBadRequest)
}

// readChunk fills buf from r as far as r has data: n bytes and nil when buf is full, io.EOF at the
// end of r (with the last bytes), any other error as r returns it. Unlike io.ReadFull it keeps a
// part's io.ErrUnexpectedEOF (a body that ended before the part's boundary) apart from a short
// last chunk.
func readChunk(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// tailReader passes reads through and keeps the last bytes read (up to 8 KiB), where a multipart
// body's closing delimiter is.
type tailReader struct {
	r    io.Reader
	tail []byte
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	const keep = 8 << 10
	switch {
	case n >= keep: // the usual large read: only its last bytes are kept
		t.tail = append(t.tail[:0], p[n-keep:n]...)
	case n > 0:
		t.tail = append(t.tail, p[:n]...)
		if len(t.tail) > keep {
			t.tail = append(t.tail[:0], t.tail[len(t.tail)-keep:]...)
		}
	}
	return n, err
}

// formFileName undoes what browsers do to a file name in a multipart form (the HTML standard
// writes a quote as %22 and a line break as %0A or %0D): the quote comes back, a line break becomes
// a space (a name is metadata, shown on one line).
func formFileName(name string) string {
	return strings.NewReplacer("%22", `"`, "%0A", " ", "%0D", " ", "%0a", " ", "%0d", " ").Replace(name)
}
