package server

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/status"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Segmentation limits.
const (
	segMaxColumns     = 20
	segMaxK           = 20
	segDefaultMaxK    = 8
	segDefaultRows    = 20000
	segDefaultGMMRows = 5000 // EM with full covariances costs rows x k x columns² per iteration
	segMaxRows        = 100000
	segSilhouetteRows = 2000
)

// Segment clusters rows of a dataset version on numeric columns. Columns are standardized (and
// missing values set to the column median, with a warning) before clustering, so no column
// dominates by its units; centers are reported in the columns' own units.
func (s *Server) Segment(ctx context.Context, req *mlv1.SegmentRequest) (*mlv1.SegmentResponse, error) {
	method := strings.ToLower(strings.TrimSpace(req.Method))
	switch method {
	case "":
		method = "kmeans"
	case "kmeans", "gmm":
	default:
		return nil, grpcx.InvalidArgument("method", "use kmeans or gmm")
	}
	cov := strings.ToLower(strings.TrimSpace(req.Covariance))
	if cov == "" {
		cov = learn.CovFull
	}
	if cov != learn.CovFull && cov != learn.CovDiag {
		return nil, grpcx.InvalidArgument("covariance", "use full or diag")
	}
	if req.K < 0 || req.K > segMaxK {
		return nil, grpcx.InvalidArgument("k", fmt.Sprintf("must be between 0 (choose) and %d", segMaxK))
	}
	maxK := int(req.MaxK)
	if maxK == 0 {
		maxK = segDefaultMaxK
	}
	if maxK < 2 || maxK > segMaxK {
		return nil, grpcx.InvalidArgument("max_k", fmt.Sprintf("must be between 2 and %d", segMaxK))
	}
	maxRows := int(req.MaxRows)
	if maxRows == 0 {
		maxRows = segDefaultRows
		if method == "gmm" {
			maxRows = segDefaultGMMRows
		}
	}
	if maxRows < 0 || maxRows > segMaxRows {
		return nil, grpcx.InvalidArgument("max_rows", fmt.Sprintf("must be between 0 (default %d) and %d", segDefaultRows, segMaxRows))
	}
	if len(req.Columns) > segMaxColumns {
		return nil, grpcx.InvalidArgument("columns", fmt.Sprintf("at most %d columns", segMaxColumns))
	}
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleViewer, "dataset", ds.Id); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range req.Columns {
		if err := platform.RequireColumn("columns", ver.Columns, c); err != nil {
			return nil, err
		}
		if seen[c] {
			return nil, grpcx.InvalidArgument("columns", fmt.Sprintf("%q is listed twice", c))
		}
		seen[c] = true
	}
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	uctx, err := s.rt.ActAs(ctx, who.UserID, ds.ProjectId)
	if err != nil {
		return nil, err
	}
	f, err := s.rt.ReadFrame(uctx, ds.Id, ver.Version, req.Columns)
	if err != nil {
		return nil, grpcx.FailedPrecondition("dataset %s version %d cannot be read: %v", ds.Id, ver.Version, err)
	}
	out := &mlv1.SegmentResponse{Method: method}
	var cols []*frame.Column
	for _, c := range f.Columns {
		numeric := c.Kind == frame.Float || c.Kind == frame.Bool
		if len(req.Columns) > 0 {
			if !numeric {
				return nil, grpcx.InvalidArgument("columns", fmt.Sprintf("%q is %s; segmentation uses numeric columns", c.Name, c.Kind))
			}
		} else if !numeric {
			continue
		}
		cols = append(cols, c)
	}
	if len(req.Columns) == 0 && len(cols) > segMaxColumns {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the version has %d numeric columns; segmenting on the first %d (name columns to choose)", len(cols), segMaxColumns))
		cols = cols[:segMaxColumns]
	}
	if len(cols) == 0 {
		return nil, grpcx.FailedPrecondition("dataset %s version %d has no numeric column to segment on", ds.Id, ver.Version)
	}
	f = sampleRows(f, maxRows, req.Seed)
	if f.Rows < 2 {
		return nil, grpcx.FailedPrecondition("segmentation needs at least 2 rows; the version has %d", f.Rows)
	}
	if req.K > 0 && int(req.K) > f.Rows {
		return nil, grpcx.InvalidArgument("k", fmt.Sprintf("k=%d is more than the %d rows", req.K, f.Rows))
	}
	if int64(f.Rows) < ver.RowCount {
		out.Warnings = append(out.Warnings, fmt.Sprintf("segmented a sample of %d of %d rows", f.Rows, ver.RowCount))
	}

	// raw values (median-imputed) and standardized rows
	n, p := f.Rows, len(cols)
	raw := make([][]float64, p)
	std := make([][]float64, n)
	for i := range std {
		std[i] = make([]float64, p)
	}
	for j, c := range cols {
		out.Columns = append(out.Columns, c.Name)
		v := make([]float64, n)
		var present []float64
		for i := 0; i < n; i++ {
			v[i] = math.NaN()
			if !c.Null[i] && !math.IsNaN(c.F[i]) && !math.IsInf(c.F[i], 0) {
				v[i] = c.F[i]
				present = append(present, v[i])
			}
		}
		if len(present) == 0 {
			return nil, grpcx.FailedPrecondition("column %q has no values in the rows read", c.Name)
		}
		sort.Float64s(present)
		med := present[len(present)/2]
		if len(present)%2 == 0 {
			med = (present[len(present)/2-1] + present[len(present)/2]) / 2
		}
		if miss := n - len(present); miss > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: %d missing values set to the median %s", c.Name, miss, strconv.FormatFloat(med, 'g', 6, 64)))
		}
		var mean, ss float64
		for i := range v {
			if math.IsNaN(v[i]) {
				v[i] = med
			}
			mean += v[i]
		}
		mean /= float64(n)
		for _, x := range v {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(n))
		if sd < 1e-12 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is constant in the rows read; it does not separate segments", c.Name))
			sd = 1
		}
		for i, x := range v {
			std[i][j] = (x - mean) / sd
		}
		raw[j] = v
	}

	labels, k, err := s.cluster(ctx, out, std, method, cov, int(req.K), maxK, req.Seed)
	if err != nil {
		return nil, err
	}
	out.K = int32(k)
	out.Rows = int64(n)
	sizes := make([]int64, k)
	sums := make([][]float64, k)
	for c := range sums {
		sums[c] = make([]float64, p)
	}
	for i, l := range labels {
		out.Assignments = append(out.Assignments, int32(l))
		sizes[l]++
		for j := range raw {
			sums[l][j] += raw[j][i]
		}
	}
	for c := 0; c < k; c++ {
		seg := &mlv1.SegmentSummary{Index: int32(c), Size: sizes[c], Share: float64(sizes[c]) / float64(n)}
		for j := range sums[c] {
			m := math.NaN()
			if sizes[c] > 0 {
				m = sums[c][j] / float64(sizes[c])
			}
			seg.Center = append(seg.Center, m)
		}
		if c < len(out.Segments) { // gmm filled the weights
			seg.Weight = out.Segments[c].Weight
			out.Segments[c] = seg
		} else {
			out.Segments = append(out.Segments, seg)
		}
	}
	src := fmt.Sprintf("dataset %s version %d", ds.Id, ver.Version)
	ch, err := segmentChart(out, raw, labels, src, req.Seed)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "chart")
	}
	out.Charts = append(out.Charts, ch)
	return out, nil
}

// cluster runs the chosen method and fills the fit and, when k is chosen, the scores of each k.
func (s *Server) cluster(ctx context.Context, out *mlv1.SegmentResponse, rows [][]float64, method, cov string, k, maxK int, seed int64) ([]int, int, error) {
	n := len(rows)
	if maxK > n {
		maxK = n
	}
	fail := func(err error) ([]int, int, error) {
		if ctx.Err() != nil {
			return nil, 0, status.FromContextError(ctx.Err()).Err()
		}
		return nil, 0, grpcx.FailedPrecondition("segmentation failed: %v", err)
	}
	if method == "gmm" {
		// stop when the mean log-likelihood gains less than 1e-4 (scikit-learn's default is 1e-3)
		o := learn.GMMOptions{Covariance: cov, NInit: 3, Tol: 1e-4, MaxIter: 200, Seed: seed}
		var r *learn.GMMResult
		var err error
		if k > 0 {
			o.K = k
			r, err = learn.GaussianMixture(ctx, rows, o)
		} else {
			var bics []float64
			o.NInit = 1 // one start per k while scanning
			r, bics, err = learn.ChooseGMM(ctx, rows, 1, maxK, o)
			for i, b := range bics {
				out.KTried = append(out.KTried, int32(i+1))
				out.KScores = append(out.KScores, b)
			}
		}
		if err != nil {
			return fail(err)
		}
		out.Fit = r.LogLikelihood
		for c, w := range r.Weights {
			out.Segments = append(out.Segments, &mlv1.SegmentSummary{Index: int32(c), Weight: w})
		}
		return r.Labels, len(r.Weights), nil
	}
	if k > 0 {
		r, err := learn.KMeans(ctx, rows, k, 10, seed)
		if err != nil {
			return fail(err)
		}
		out.Fit = r.Inertia
		return r.Labels, k, nil
	}
	// choose k by the silhouette of a fixed sample of rows
	sample := rand.New(rand.NewSource(seed)).Perm(n)
	if len(sample) > segSilhouetteRows {
		sample = sample[:segSilhouetteRows]
	}
	sub := make([][]float64, len(sample))
	for i, r := range sample {
		sub[i] = rows[r]
	}
	var best *learn.KMeansResult
	bestScore := math.Inf(-1)
	for kk := 2; kk <= maxK; kk++ {
		r, err := learn.KMeans(ctx, rows, kk, 3, seed)
		if err != nil {
			return fail(err)
		}
		lab := make([]int, len(sample))
		for i, rr := range sample {
			lab[i] = r.Labels[rr]
		}
		sc := learn.Silhouette(sub, lab, kk)
		out.KTried = append(out.KTried, int32(kk))
		out.KScores = append(out.KScores, sc)
		if sc > bestScore {
			best, bestScore = r, sc
		}
	}
	if best == nil {
		return fail(fmt.Errorf("no k between 2 and %d fits %d rows", maxK, n))
	}
	out.Fit = best.Inertia
	return best.Labels, len(best.Centers), nil
}

// segmentChart draws the rows (a sample of at most charts.MaxPoints) on the first two columns,
// colored by segment, or along the only column.
func segmentChart(out *mlv1.SegmentResponse, raw [][]float64, labels []int, source string, seed int64) (*commonv1.Chart, error) {
	n := len(labels)
	idx := rand.New(rand.NewSource(seed)).Perm(n)
	if len(idx) > charts.MaxPoints {
		idx = idx[:charts.MaxPoints]
	}
	sort.Ints(idx)
	xName := out.Columns[0]
	var vals []any
	for _, i := range idx {
		row := map[string]any{xName: raw[0][i], "segment": strconv.Itoa(labels[i])}
		if len(raw) > 1 {
			row[out.Columns[1]] = raw[1][i]
		}
		vals = append(vals, row)
	}
	enc := map[string]any{
		"x":       map[string]any{"field": xName, "type": "quantitative", "scale": map[string]any{"zero": false}},
		"color":   map[string]any{"field": "segment", "type": "nominal"},
		"tooltip": []any{map[string]any{"field": "segment", "type": "nominal"}, map[string]any{"field": xName, "type": "quantitative"}},
	}
	mark := "point"
	title := fmt.Sprintf("%d segments (%s) on %s", out.K, out.Method, strings.Join(out.Columns, ", "))
	if len(raw) > 1 {
		y := out.Columns[1]
		enc["y"] = map[string]any{"field": y, "type": "quantitative", "scale": map[string]any{"zero": false}}
		enc["tooltip"] = append(enc["tooltip"].([]any), map[string]any{"field": y, "type": "quantitative"})
	} else {
		mark = "tick"
		enc["y"] = map[string]any{"field": "segment", "type": "nominal"}
	}
	if len(idx) < n {
		title += fmt.Sprintf(" — %d of %d rows shown", len(idx), n)
	}
	spec := charts.Spec{"$schema": charts.Schema, "width": "container", "title": title,
		"data": map[string]any{"values": vals}, "mark": map[string]any{"type": mark, "tooltip": true}, "encoding": enc}
	st, err := charts.ToStruct(spec)
	if err != nil {
		return nil, err
	}
	return &commonv1.Chart{Id: ids.New(ids.Chart), Title: "Segments", Kind: "segments", VegaLite: st, Source: source}, nil
}
