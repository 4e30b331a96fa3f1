// Package profile is vds's profiling engine: per-column statistics, semantic types, relationships
// between columns, data-quality alerts and chart specifications for one frame, plus the hypothesis
// generator that states and tests candidate findings with false-discovery-rate control.
//
// Work is bounded on large and wide data: per-column passes are O(n log n) (one sort per numeric
// column) and run in parallel; pairwise relationships use at most Options.MaxPairColumns columns and
// a row sample of at most PairSampleRows rows; trend tests aggregate long series to at most
// TrendPoints points.
package profile

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sync"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/semantic"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits that bound the work on large inputs.
const (
	// ExactDistinctLimit is the number of distinct strings counted exactly; beyond it the distinct
	// count is a HyperLogLog estimate and ColumnProfile.distinct_is_estimate is set.
	ExactDistinctLimit = 100_000
	// PairSampleRows is the largest number of rows used for pairwise relationships.
	PairSampleRows = 50_000
	// TrendPoints is the largest series length given to the O(n²) Mann-Kendall test.
	TrendPoints = 2000
	// DefaultMaxPairColumns caps the columns that enter pairwise relationship computations.
	DefaultMaxPairColumns = 50
	// TopValues is the number of most frequent values kept per column.
	TopValues = 10
)

// Options tune a profile.
type Options struct {
	// Target is the optional target column: enables leakage, imbalance and mutual-information checks.
	Target string
	// MaxPairColumns caps the columns used for pairwise correlations (default 50). Columns are
	// chosen by their spread (normalized entropy of the histogram or of the value counts), with the
	// target always included.
	MaxPairColumns int
}

// Compute profiles a frame. It is safe to call concurrently on different frames; it does not modify f.
func Compute(ctx context.Context, f *frame.Frame, opts Options) (*profilingv1.Profile, error) {
	if f == nil {
		return nil, fmt.Errorf("profile: nil frame")
	}
	if opts.Target != "" && f.Col(opts.Target) == nil {
		return nil, fmt.Errorf("profile: target column %q not found", opts.Target)
	}
	if opts.MaxPairColumns <= 0 {
		opts.MaxPairColumns = DefaultMaxPairColumns
	}
	for _, c := range f.Columns {
		if c.Len() != f.Rows {
			return nil, fmt.Errorf("profile: column %q has %d rows, frame has %d", c.Name, c.Len(), f.Rows)
		}
	}
	seed := maphash.MakeSeed()
	infos := make([]*colInfo, len(f.Columns))
	var dupRows int64
	err := parallel(ctx, len(f.Columns)+1, func(i int) {
		if i == len(f.Columns) {
			dupRows = duplicateRows(f, seed)
			return
		}
		infos[i] = analyzeColumn(f.Columns[i], seed)
	})
	if err != nil {
		return nil, err
	}
	p := &profilingv1.Profile{
		RowCount:      int64(f.Rows),
		ColumnCount:   int32(len(f.Columns)),
		Target:        opts.Target,
		DuplicateRows: dupRows,
		CreateTime:    timestamppb.Now(),
	}
	for _, ci := range infos {
		p.Columns = append(p.Columns, ci.prof)
		if ch := columnChart(ci); ch != nil {
			ci.prof.ChartId = ch.Id
			p.Charts = append(p.Charts, ch)
		}
	}
	p.Alerts = append(p.Alerts, columnAlerts(infos, f.Rows)...)
	if dupRows > 0 {
		p.Alerts = append(p.Alerts, &profilingv1.Alert{
			Kind: "duplicate_rows", Severity: commonv1.Severity_SEVERITY_WARNING,
			Message:  fmt.Sprintf("%d rows (%.1f%%) repeat an earlier row exactly", dupRows, 100*float64(dupRows)/float64(f.Rows)),
			Evidence: map[string]float64{"duplicate_rows": float64(dupRows), "share": float64(dupRows) / float64(f.Rows)},
		})
	}
	p.Alerts = append(p.Alerts, duplicateColumns(infos)...)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rel := relationships(ctx, f, infos, opts)
	p.Correlations = rel.correlations
	p.Alerts = append(p.Alerts, rel.alerts...)
	if rel.heatmap != nil {
		p.Charts = append(p.Charts, rel.heatmap)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tsAlerts, tsCharts := timeSeries(f, infos)
	p.Alerts = append(p.Alerts, tsAlerts...)
	p.Charts = append(p.Charts, tsCharts...)
	return p, ctx.Err()
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines and stops handing out work when ctx ends.
func parallel(ctx context.Context, n int, fn func(i int)) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	var err error
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(next)
	wg.Wait()
	return err
}

// colInfo is everything later stages need about one column.
type colInfo struct {
	col  *frame.Column
	prof *profilingv1.ColumnProfile
	sem  commonv1.SemanticType
	st   semantic.Stats

	// Numeric columns.
	skew   float64
	scale  *scaleInfo // a likely unit mix-up within the column
	bins   []charts.Bin
	sorted []float64 // sorted non-missing values; kept only for small columns (used by time series)

	// String columns: per-row codes into levels (-1 missing, -2 not among the counted levels).
	codes  []int32
	levels []string
	counts []int64
	// Placeholder tokens found and how often; numericShare is the share of non-missing rows that
	// parse as numbers.
	placeholders map[string]int64
	nonNumeric   map[string]int64
	numericShare float64

	topShare    float64 // share of the most frequent value among non-missing rows
	spread      float64 // normalized entropy (0..1) of the value distribution
	fingerprint uint64  // hash of all values in order, for duplicate columns
}

func (ci *colInfo) present() int64 { return ci.prof.Count - ci.prof.MissingCount }

// numericRole reports whether the column takes part in relationships as a number.
func (ci *colInfo) numericRole() bool {
	switch ci.sem {
	case commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE,
		commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE:
		return ci.col.Kind != frame.String && ci.prof.DistinctCount > 1
	}
	return false
}

// categoricalRole reports whether the column takes part in relationships as categories.
func (ci *colInfo) categoricalRole() bool {
	switch ci.sem {
	case commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN:
		return ci.prof.DistinctCount > 1
	}
	return false
}

// catCodes returns per-row category codes (-1 for missing) with at most maxLevels levels (rarer
// levels are lumped into one "other" level), and the level labels.
func (ci *colInfo) catCodes(maxLevels int) ([]int, []string) {
	n := ci.col.Len()
	out := make([]int, n)
	if ci.col.Kind == frame.String {
		// Levels are ordered by frequency; keep the first maxLevels-1 and lump the rest.
		order := make([]int, len(ci.levels))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return int(ci.counts[b] - ci.counts[a]) })
		remap := make([]int, len(ci.levels))
		var labels []string
		lump := len(ci.levels) > maxLevels
		for rank, li := range order {
			if lump && rank >= maxLevels-1 {
				remap[li] = maxLevels - 1
				continue
			}
			remap[li] = rank
			labels = append(labels, ci.levels[li])
		}
		if lump {
			labels = append(labels, "(other)")
		}
		for i, c := range ci.codes {
			switch {
			case c == -1:
				out[i] = -1
			case c < 0:
				if lump {
					out[i] = maxLevels - 1
				} else {
					out[i] = -1
				}
			default:
				out[i] = remap[c]
			}
		}
		return out, labels
	}
	// Numeric-coded categories (0/1 booleans, bool columns).
	idx := map[float64]int{}
	var labels []string
	for i, v := range ci.col.F {
		if ci.col.Null[i] || v != v {
			out[i] = -1
			continue
		}
		k, ok := idx[v]
		if !ok {
			k = len(idx)
			if k >= maxLevels {
				k = maxLevels - 1
			} else {
				idx[v] = k
				labels = append(labels, formatNum(v))
			}
		}
		out[i] = k
	}
	return out, labels
}

func formatNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}
