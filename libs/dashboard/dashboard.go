// Package dashboard proposes a dashboard for one dataset version from the kind of data it holds:
//
//   - a classification target (given, or the profile's) gets a target breakdown: the balance of the
//     classes, the strongest drivers by the profile's mutual information with the target, and the
//     rate of the positive class by the strongest categorical (and numeric) drivers;
//   - latitude/longitude columns (as the profile types them) get a map drawn from the points
//     themselves with a projection, no tile server: points as they are when few, else binned into a
//     grid and sized by count, inside an outline of the data's bounding box;
//   - a time axis (a datetime index of the profile, or a year column with an optional month
//     column) gets a trend-and-seasonality view with KPI tiles: the latest value, the change
//     against the previous period (and against the same period one cycle earlier), the trend
//     direction by Mann-Kendall and the seasonal period;
//   - anything else gets an overview: size and missingness tiles and the main distributions.
//
// The layout is computed from the profile (profilingv1.Profile) and from aggregate SQL queries over
// the dataset (table "data") run through a Querier, so only aggregates enter the chart specs: at
// most MaxPeriods periods, MaxMapPoints points or map cells, and the profile's histograms and top
// values. Charts are Vega-Lite specs (libs/charts conventions: data inline, "width": "container").
package dashboard

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/planner"
)

// Kinds of dashboards.
const (
	KindTimeSeries      = "time_series"
	KindMap             = "map"
	KindTargetBreakdown = "target_breakdown"
	KindOverview        = "overview"
)

// Limits on what goes into a spec.
const (
	// MaxPeriods is the largest number of time periods drawn; a finer series is bucketed coarser.
	MaxPeriods = 1000
	// MaxMapPoints is the largest number of points (or grid cells) drawn on a map.
	MaxMapPoints = 3000
	// mapGrid is the number of grid cells per axis when points are binned.
	mapGrid = 50
	// maxLevels is the largest number of categories in one rate chart.
	maxLevels = 25
)

// Querier runs one read-only SQL query over the dataset, visible as the table "data".
type Querier func(ctx context.Context, query string) (*planner.Table, error)

// Input is what a proposal is made from.
type Input struct {
	// Name of the dataset, for the title.
	Name    string
	Profile *profilingv1.Profile
	// Target is the optional classification target (else the profile's own target, if any).
	Target string
	Query  Querier
}

// Tile is one KPI card.
type Tile struct {
	Key, Label, Value, Detail string
	Number                    float64
	HasNumber                 bool
}

// Panel is one chart.
type Panel struct {
	Title, Kind, Description string
	Spec                     charts.Spec
	// Width in columns of a 12-column grid.
	Width int
}

// Dashboard is a proposed layout.
type Dashboard struct {
	Title, Kind, Reason, Target string
	Tiles                       []Tile
	Panels                      []Panel
}

// Tile returns the tile with key, or nil.
func (d *Dashboard) Tile(key string) *Tile {
	for i := range d.Tiles {
		if d.Tiles[i].Key == key {
			return &d.Tiles[i]
		}
	}
	return nil
}

// Panel returns the first panel of kind, or nil.
func (d *Dashboard) Panel(kind string) *Panel {
	for i := range d.Panels {
		if d.Panels[i].Kind == kind {
			return &d.Panels[i]
		}
	}
	return nil
}

func (d *Dashboard) tile(key, label, value, detail string) {
	d.Tiles = append(d.Tiles, Tile{Key: key, Label: label, Value: value, Detail: detail})
}

func (d *Dashboard) tileNum(key, label string, v float64, value, detail string) {
	t := Tile{Key: key, Label: label, Value: value, Detail: detail}
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		t.Number, t.HasNumber = v, true
	}
	d.Tiles = append(d.Tiles, t)
}

func (d *Dashboard) panel(p Panel) { d.Panels = append(d.Panels, p) }

// Propose chooses the layout and computes its tiles and charts. The order of preference: a
// classification target, coordinates, a time axis, the overview. A target that is not
// classification-like (numeric with more than 10 values, or a missing column) is an error.
func Propose(ctx context.Context, in Input) (*Dashboard, error) {
	p := in.Profile
	if p == nil {
		return nil, fmt.Errorf("dashboard: no profile")
	}
	if in.Query == nil {
		return nil, fmt.Errorf("dashboard: no querier")
	}
	name := in.Name
	if name == "" {
		name = "the dataset"
	}
	target := in.Target
	if target == "" {
		target = p.Target
	}
	if target != "" {
		c := col(p, target)
		if c == nil {
			return nil, fmt.Errorf("dashboard: target column %q not found", target)
		}
		if !classLike(c) {
			if in.Target != "" {
				return nil, fmt.Errorf("dashboard: target %q is not a classification target (%s with %d distinct values); a target breakdown needs 2 to %d classes", target, typeName(c), c.DistinctCount, maxLevels)
			}
		} else {
			return targetView(ctx, in, name, c)
		}
	}
	if lat, lon := geoPair(p); lat != nil && lon != nil {
		return mapView(ctx, in, name, lat, lon)
	}
	if ax := timeAxis(p); ax != nil {
		if d, ok, err := timeView(ctx, in, name, ax); err != nil || ok {
			return d, err
		}
	}
	return overview(in, name), nil
}

// --- profile helpers ---

func col(p *profilingv1.Profile, name string) *profilingv1.ColumnProfile {
	for _, c := range p.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func typeName(c *profilingv1.ColumnProfile) string {
	return strings.ToLower(strings.TrimPrefix(c.SemanticType.String(), "SEMANTIC_TYPE_"))
}

func isType(c *profilingv1.ColumnProfile, ts ...commonv1.SemanticType) bool {
	return slices.Contains(ts, c.SemanticType)
}

// classLike: a boolean or categorical column, or a numeric one with few distinct values.
func classLike(c *profilingv1.ColumnProfile) bool {
	if c.DistinctCount < 2 || c.DistinctCount > maxLevels {
		return false
	}
	switch c.SemanticType {
	case commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN, commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL:
		return true
	case commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC:
		return c.DistinctCount <= 10
	}
	return false
}

// usableNumeric: a numeric column that can be a metric (not an identifier, not constant).
func usableNumeric(c *profilingv1.ColumnProfile) bool {
	return c.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC && c.Numeric != nil && c.DistinctCount > 1
}

func alertFor(p *profilingv1.Profile, kind, column string) *profilingv1.Alert {
	for _, a := range p.Alerts {
		if a.Kind == kind && len(a.Columns) > 0 && a.Columns[0] == column {
			return a
		}
	}
	return nil
}

// --- SQL helpers ---

func q(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
func lit(s string) string  { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func num(name string) string {
	return "TRY_CAST(" + q(name) + " AS DOUBLE)"
}

// --- formatting ---

// Format writes a number compactly: integers with thousands separators, others with 4
// significant digits.
func Format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return thousands(fmt.Sprintf("%.0f", v))
	}
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.4g", v)
	case a >= 100:
		return thousands(fmt.Sprintf("%.1f", v))
	case a >= 1:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func signedPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", 100*v)
}
