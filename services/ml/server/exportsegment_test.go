package server_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/charts/vegatest"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestExportAndSegment runs Export and Segment through the whole mesh: an exported ONNX model is the
// one the registry signed (and a tampered artifact is refused before conversion); segmentation of
// iris gives the clusters libs/learn computes on the same standardized columns.
func TestExportAndSegment(t *testing.T) {
	c, p, home := platform(t)
	ctx := context.Background()
	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")

	t.Run("export", func(t *testing.T) {
		_, m := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 2, Seed: 1,
			Algorithms: []string{"gbdt"}, ExcludeColumns: []string{"alive"}})
		on, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: m.Id, Format: "onnx"})
		if err != nil {
			t.Fatalf("export onnx: %v", err)
		}
		if on.ContentType != "application/onnx" || len(on.Content) < 1000 || on.Content[0] != 0x08 ||
			!bytes.Contains(on.Content, []byte("TreeEnsembleRegressor")) || !bytes.Contains(on.Content, []byte("ai.onnx.ml")) {
			t.Fatalf("onnx export: %q, %d bytes", on.ContentType, len(on.Content))
		}
		// the service's ONNX is what libs/learn writes for the stored model
		path := filepath.Join(home, "objects", "models", m.Id+".pb")
		stored, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		vds, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: m.Id, Format: "vds"})
		if err != nil || !bytes.Equal(vds.Content, stored) {
			t.Fatalf("export vds: %v (%d bytes, stored %d)", err, len(vds.GetContent()), len(stored))
		}
		if _, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: m.Id, Format: "pickle"}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("format pickle: %v, want InvalidArgument", err)
		}
		// a k-NN model has no ONNX form here: FailedPrecondition naming the way out
		_, nn := train(t, c, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 1, Seed: 1,
			Algorithms: []string{"knn"}, ExcludeColumns: []string{"alive"}})
		if _, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: nn.Id}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "ONNX") {
			t.Errorf("k-NN export: %v, want FailedPrecondition", err)
		}
		// flip one byte of the stored artifact: the export is refused, not converted
		bad := slices.Clone(stored)
		bad[len(bad)/2] ^= 0x01
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"onnx", "vds"} {
			_, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: m.Id, Format: f})
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "refused") {
				t.Errorf("export %s of a tampered artifact: %v, want FailedPrecondition (refused)", f, err)
			}
		}
	})

	t.Run("segment", func(t *testing.T) {
		iris := upload(t, c, p.Creds.ProjectID, "tabular/iris.csv")
		cols := []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}
		rows, logSD := standardizedIris(t, cols)

		km, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: cols, K: 3, Seed: 4})
		if err != nil {
			t.Fatalf("segment kmeans: %v", err)
		}
		want, err := learn.KMeans(ctx, rows, 3, 10, 4)
		if err != nil {
			t.Fatal(err)
		}
		if km.K != 3 || len(km.Segments) != 3 || len(km.Assignments) != 150 || km.Rows != 150 || math.Abs(km.Fit-want.Inertia) > 1e-9 {
			t.Fatalf("kmeans: k %d, %d segments, %d assignments, fit %.6f (learn %.6f)", km.K, len(km.Segments), len(km.Assignments), km.Fit, want.Inertia)
		}
		var total int64
		for _, s := range km.Segments {
			total += s.Size
			if len(s.Center) != 4 {
				t.Fatalf("center %v", s.Center)
			}
		}
		if total != 150 || len(km.Charts) != 1 || km.Charts[0].VegaLite == nil {
			t.Fatalf("sizes add to %d, charts %d", total, len(km.Charts))
		}
		// every setosa row is in one segment, whose mean petal length is the species' 1.462
		setosa := km.Assignments[0]
		for i := 0; i < 50; i++ {
			if km.Assignments[i] != setosa {
				t.Fatalf("setosa row %d in segment %d, row 0 in %d", i, km.Assignments[i], setosa)
			}
		}
		if s := km.Segments[setosa]; s.Size != 50 || math.Abs(s.Center[2]-1.462) > 1e-9 {
			t.Errorf("setosa segment: size %d, mean petal length %.6f", s.Size, s.Center[2])
		}

		// BIC picks k = 2 as scikit-learn does on these columns (BIC is scale-free up to a constant:
		// standardizing subtracts 2 n sum(log sd) from every k's BIC).
		gm, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: cols, Method: "gmm", MaxK: 5})
		if err != nil {
			t.Fatalf("segment gmm: %v", err)
		}
		const sklearnBIC2 = 574.017832720746 // GaussianMixture(2, n_init=10, tol=1e-10) on the raw columns
		if gm.K != 2 || !slices.Equal(gm.KTried, []int32{1, 2, 3, 4, 5}) || math.Abs(gm.KScores[1]-(sklearnBIC2-2*150*logSD)) > 1e-2 {
			t.Fatalf("gmm: k %d, tried %v, BIC %v (want k=2, BIC(2) %.4f)", gm.K, gm.KTried, gm.KScores, sklearnBIC2-2*150*logSD)
		}
		var w float64
		for _, s := range gm.Segments {
			w += s.Weight
		}
		if math.Abs(w-1) > 1e-9 {
			t.Errorf("gmm weights add to %v", w)
		}

		ch, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: cols, MaxK: 4})
		if err != nil {
			t.Fatalf("segment choosing k: %v", err)
		}
		best := slices.Index(ch.KScores, slices.Max(ch.KScores))
		if !slices.Equal(ch.KTried, []int32{2, 3, 4}) || ch.K != ch.KTried[best] {
			t.Errorf("kmeans choice: k %d, tried %v scores %v", ch.K, ch.KTried, ch.KScores)
		}
		// the charts are valid Vega-Lite (a scatter for two columns or more, ticks for one)
		one, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: []string{"petal_length"}, K: 2})
		if err != nil || one.K != 2 || one.Segments[0].Size+one.Segments[1].Size != 150 {
			t.Fatalf("one column: %v %v", err, one)
		}
		if validate := vegatest.Optional(t); validate != nil {
			for _, r := range []*mlv1.SegmentResponse{km, gm, one} {
				if err := validate(r.Charts[0].VegaLite.AsMap()); err != nil {
					t.Errorf("segment chart (%d columns) does not validate: %v", len(r.Columns), err)
				}
			}
		}
		if _, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: []string{"species"}}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("text column: %v, want InvalidArgument", err)
		}
		if _, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: iris, Columns: []string{"nope"}}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("unknown column: %v, want InvalidArgument", err)
		}
	})
}

// standardizedIris reads the columns from the shared file and standardizes them as Segment does
// (population standard deviation); it also returns the sum of the log standard deviations.
func standardizedIris(t *testing.T, cols []string) ([][]float64, float64) {
	b, err := os.ReadFile(shareddata.Path(t, "tabular/iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	header := strings.Split(lines[0], ",")
	var rows [][]float64
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		var r []float64
		for _, c := range cols {
			v, err := strconv.ParseFloat(f[slices.Index(header, c)], 64)
			if err != nil {
				t.Fatal(err)
			}
			r = append(r, v)
		}
		rows = append(rows, r)
	}
	var logSD float64
	for j := range cols {
		var m, ss float64
		for _, r := range rows {
			m += r[j]
		}
		m /= float64(len(rows))
		for _, r := range rows {
			ss += (r[j] - m) * (r[j] - m)
		}
		sd := math.Sqrt(ss / float64(len(rows)))
		logSD += math.Log(sd)
		for _, r := range rows {
			r[j] = (r[j] - m) / sd
		}
	}
	return rows, logSD
}
