package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// plainStreamErrors gives a server stream that fails before its first message (":execute", ":send",
// ":watch" refused with InvalidArgument, NotFound…) the error body every other route has, a bare
// google.rpc.Status {"code", "message", "details"}, with the same headers (writeStatus). grpc-gateway
// wraps it as a stream line {"error": {…}}, which is right only once the stream has begun: after a
// 200 and {"result": …} lines, an error is still written as {"error": {…}} (docs/web.md).
func (g *gateway) plainStreamErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &errorWriter{ResponseWriter: w}
		next.ServeHTTP(ew, r)
		if ew.code == 0 {
			return // not an error, or already written through
		}
		if st, ok := streamErrorChunk(ew.buf.Bytes()); ok {
			h := w.Header()
			h.Del("Transfer-Encoding")
			g.writeStatus(w, r, st, ew.code)
			return
		}
		w.WriteHeader(ew.code)
		w.Write(ew.buf.Bytes())
	})
}

// streamErrorChunk reads grpc-gateway's {"error": <google.rpc.Status>} (and its newline).
func streamErrorChunk(b []byte) (*status.Status, bool) {
	var chunk map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimSpace(b), &chunk) != nil || len(chunk) != 1 || chunk["error"] == nil {
		return nil, false
	}
	var p spb.Status
	if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(chunk["error"], &p) != nil {
		return nil, false
	}
	return status.FromProto(&p), true
}

// errorWriter holds back a response whose status is an error (>= 400) until the handler returns;
// any other response goes straight through.
type errorWriter struct {
	http.ResponseWriter
	wrote bool // the header went through
	code  int  // held back error status
	buf   bytes.Buffer
}

func (e *errorWriter) WriteHeader(code int) {
	if e.wrote || e.code != 0 {
		return
	}
	if code >= 400 {
		e.code = code
		return
	}
	e.wrote = true
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorWriter) Write(p []byte) (int, error) {
	if !e.wrote && e.code == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.code != 0 {
		return e.buf.Write(p)
	}
	return e.ResponseWriter.Write(p)
}

func (e *errorWriter) Flush() {
	if e.code != 0 {
		return
	}
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (e *errorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
