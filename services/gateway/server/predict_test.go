package server

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// mlBackend is an MLService whose Predict records the rows it gets and answers one prediction per row.
type mlBackend struct {
	mlv1.UnimplementedMLServiceServer
	mu   sync.Mutex
	rows []map[string]string
}

func (b *mlBackend) Predict(_ context.Context, req *mlv1.PredictRequest) (*mlv1.PredictResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rows = nil
	out := &mlv1.PredictResponse{}
	for _, r := range req.Rows {
		b.rows = append(b.rows, r.Values)
		out.Predictions = append(out.Predictions, &mlv1.Prediction{Label: "1"})
	}
	return out, nil
}

// TestPredictJSONValues: the REST predict route takes a row's values as JSON numbers and booleans
// as well as strings ({"age": 22} was refused: "must be a string"); a number reaches the ML service
// with the digits it was written with, a boolean as true/false, null as "" (missing). Objects and lists are still
// refused naming the value.
func TestPredictJSONValues(t *testing.T) {
	t.Parallel()
	ml := &mlBackend{}
	s := grpc.NewServer()
	mlv1.RegisterMLServiceServer(s, ml)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	f := newFixture(t, func(o *Options) { o.MaxBodyBytes = 64 << 10; o.Backends[ML] = l.Addr().String() })
	post := func(body string) ([]byte, int) {
		resp, b := do(t, mustReq("POST", f.httpURL+"/v1/models/mdl_1:predict", strings.NewReader(body)))
		return b, resp.StatusCode
	}
	b, code := post(`{"rows":[{"values":{"age":22,"fare":7.25,"big":1e3,"pclass":"3","alone":true,"adult_male":false,"sex":"male"}},{"values":{"age":-0.5}},{"values":{"pclass":null,"age":30}}]}`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	want := []map[string]string{
		{"age": "22", "fare": "7.25", "big": "1e3", "pclass": "3", "alone": "true", "adult_male": "false", "sex": "male"},
		{"age": "-0.5"},
		{"age": "30", "pclass": ""}, // JSON null is a missing value (it was a raw protojson error)
	}
	ml.mu.Lock()
	got, _ := json.Marshal(ml.rows)
	ml.mu.Unlock()
	if w, _ := json.Marshal(want); string(got) != string(w) {
		t.Errorf("the ML service got rows %s, want %s", got, w)
	}
	for _, c := range []struct{ body, msg string }{
		{`{"rows":[{"values":{"age":{"years":22}}}]}`, `field "rows[0].values[\"age\"]" of the request body must be a string, not an object`},
		{`{"rows":[{"values":{"age":[22]}}]}`, `must be a string, not a list`},
	} {
		resp, b := do(t, mustReq("POST", f.httpURL+"/v1/models/mdl_1:predict", strings.NewReader(c.body)))
		checkStatus(t, resp, b, 400, codes.InvalidArgument, c.msg)
	}
}
