package dashboard

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/planner"
)

// --- target breakdown ---

// classLabel shows a class as the data had it: a Boolean column stored as bool reads true/false.
func classLabel(c *profilingv1.ColumnProfile, v string) string {
	if c.PhysicalType == "bool" {
		switch v {
		case "1":
			return "true"
		case "0":
			return "false"
		}
	}
	return v
}

// isPositive is the SQL condition "the target is the positive class".
func isPositive(c *profilingv1.ColumnProfile, pos string) string {
	if x, err := strconv.ParseFloat(pos, 64); err == nil && c.PhysicalType != "utf8" && c.PhysicalType != "large_utf8" {
		return fmt.Sprintf("TRY_CAST(%s AS DOUBLE) = %s", q(c.Name), strconv.FormatFloat(x, 'g', -1, 64))
	}
	return fmt.Sprintf("CAST(%s AS VARCHAR) = %s", q(c.Name), lit(pos))
}

type driver struct {
	col *profilingv1.ColumnProfile
	mi  float64
}

// drivers ranks the columns by the profile's mutual information with the target (identifiers,
// text and the target itself left out).
func drivers(p *profilingv1.Profile, target string) []driver {
	var out []driver
	for _, r := range p.Correlations {
		if r.Method != "mutual_information" {
			continue
		}
		other := ""
		switch target {
		case r.ColumnB:
			other = r.ColumnA
		case r.ColumnA:
			other = r.ColumnB
		default:
			continue
		}
		c := col(p, other)
		if c == nil || other == target || isType(c, commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER, commonv1.SemanticType_SEMANTIC_TYPE_TEXT) {
			continue
		}
		out = append(out, driver{c, r.Value})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].mi > out[j].mi })
	return out
}

func targetView(ctx context.Context, in Input, name string, tc *profilingv1.ColumnProfile) (*Dashboard, error) {
	p := in.Profile
	t := tc.Name
	d := &Dashboard{Kind: KindTargetBreakdown, Target: t, Title: fmt.Sprintf("What drives %s in %s", t, name)}
	var values []string
	var counts []float64
	for _, v := range tc.TopValues {
		values = append(values, v.Value)
		counts = append(counts, float64(v.Count))
	}
	present := float64(tc.Count - tc.MissingCount)
	pos := planner.PositiveClass(&planner.Column{Values: values})
	posLabel := classLabel(tc, pos)
	d.Reason = fmt.Sprintf("%s is a classification target with %d classes; the rate of %s = %s is broken down by the columns that carry the most information about it.", t, len(values), t, posLabel)

	// The balance and the positive rate, from the profile's exact value counts.
	posCount := 0.0
	labels := make([]string, len(values))
	for i, v := range values {
		labels[i] = classLabel(tc, v)
		if v == pos {
			posCount = counts[i]
		}
	}
	d.tileNum("rows", "Rows", float64(p.RowCount), Format(float64(p.RowCount)), fmt.Sprintf("%s rows with %s known", Format(present), t))
	rate := posCount / present
	d.tileNum("positive_rate", fmt.Sprintf("%s = %s", t, posLabel), rate, pct(rate), fmt.Sprintf("%s of %s rows", Format(posCount), Format(present)))
	d.tileNum("classes", "Classes of "+t, float64(len(values)), strconv.Itoa(len(values)), strings.Join(labels, ", "))
	if a := alertFor(p, "imbalance", t); a != nil {
		d.tile("imbalance", "Imbalance", pct(a.Evidence["minority_share"])+" minority", a.Message)
	}
	shares := make([]float64, len(counts))
	for i := range counts {
		shares[i] = counts[i] / present
	}
	d.panel(Panel{Title: "Balance of " + t, Kind: "balance", Width: 6,
		Description: "Share of the rows in each class (from the profile's exact counts).",
		Spec:        barSpec("", t, "share of rows", labels, shares, counts, true, false)})

	ds := drivers(p, t)
	if len(ds) > 0 {
		d.tileNum("top_driver", "Strongest driver", ds[0].mi, ds[0].col.Name, fmt.Sprintf("mutual information %.3g nats with %s (profile)", ds[0].mi, t))
		top := ds[:min(len(ds), 12)]
		names := make([]string, len(top))
		mis := make([]float64, len(top))
		for i, x := range top {
			names[i], mis[i] = x.col.Name, x.mi
		}
		d.panel(Panel{Title: "Top drivers of " + t, Kind: "drivers", Width: 6,
			Description: "Mutual information of each column with the target, computed by the profile (numeric columns in 10 bins).",
			Spec:        barSpec("", "column", "mutual information (nats)", names, mis, nil, false, true)})
	}
	// The positive rate by the strongest categorical drivers (3) and the strongest numeric one.
	cond := isPositive(tc, pos)
	cats, nums := 0, 0
	for _, x := range ds {
		c := x.col
		switch {
		case cats < 3 && isType(c, commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN) && c.DistinctCount <= maxLevels:
			query := fmt.Sprintf("SELECT CAST(%s AS VARCHAR) AS level, count(*) AS n, avg(CASE WHEN %s THEN 1.0 ELSE 0.0 END) AS rate FROM data WHERE %s IS NOT NULL AND %s IS NOT NULL GROUP BY 1 ORDER BY rate DESC LIMIT %d",
				q(c.Name), cond, q(t), q(c.Name), maxLevels)
			tab, err := in.Query(ctx, query)
			if err != nil {
				return nil, fmt.Errorf("rate of %s by %s: %w", t, c.Name, err)
			}
			lv, rates, ns := make([]string, len(tab.Rows)), make([]float64, len(tab.Rows)), make([]float64, len(tab.Rows))
			for i := range tab.Rows {
				lv[i], ns[i], rates[i] = tab.Str(i, 0), tab.Float(i, 1), tab.Float(i, 2)
			}
			cats++
			d.panel(Panel{Title: fmt.Sprintf("%s = %s by %s", t, posLabel, c.Name), Kind: "rate", Width: 6,
				Description: fmt.Sprintf("Share of rows with %s = %s in each value of %s (mutual information %.3g).", t, posLabel, c.Name, x.mi),
				Spec:        barSpec("", c.Name, fmt.Sprintf("rate of %s = %s", t, posLabel), lv, rates, ns, true, false)})
		case nums < 1 && usableNumeric(c):
			query := fmt.Sprintf("SELECT b, min(x) AS lo, max(x) AS hi, count(*) AS n, avg(y) AS rate FROM (SELECT ntile(10) OVER (ORDER BY %s) AS b, %s AS x, CASE WHEN %s THEN 1.0 ELSE 0.0 END AS y FROM data WHERE %s IS NOT NULL AND %s IS NOT NULL) GROUP BY b ORDER BY b",
				num(c.Name), num(c.Name), cond, num(c.Name), q(t))
			tab, err := in.Query(ctx, query)
			if err != nil {
				return nil, fmt.Errorf("rate of %s by %s deciles: %w", t, c.Name, err)
			}
			var lv []string
			var rates, ns []float64
			for i := range tab.Rows {
				lv = append(lv, Format(tab.Float(i, 1))+"–"+Format(tab.Float(i, 2)))
				ns = append(ns, tab.Float(i, 3))
				rates = append(rates, tab.Float(i, 4))
			}
			nums++
			d.panel(Panel{Title: fmt.Sprintf("%s = %s by %s (deciles)", t, posLabel, c.Name), Kind: "rate", Width: 6,
				Description: fmt.Sprintf("Share of rows with %s = %s in each tenth of %s, lowest first (mutual information %.3g).", t, posLabel, c.Name, x.mi),
				Spec:        barSpec("", c.Name, fmt.Sprintf("rate of %s = %s", t, posLabel), lv, rates, ns, true, false)})
		}
	}
	return d, nil
}

// --- map ---

var latTok = []string{"latitude", "lat"}
var lonTok = []string{"longitude", "long", "lng", "lon"}

// stem removes the coordinate word from a column name ("pickup_lat" -> "pickup_").
func stem(name string, toks []string) string {
	l := strings.ToLower(name)
	for _, t := range toks {
		if i := strings.LastIndex(l, t); i >= 0 {
			return l[:i] + l[i+len(t):]
		}
	}
	return l
}

// geoPair returns the first latitude column and the longitude column that matches its name (else
// the first longitude column).
func geoPair(p *profilingv1.Profile) (lat, lon *profilingv1.ColumnProfile) {
	var lons []*profilingv1.ColumnProfile
	for _, c := range p.Columns {
		switch {
		case c.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE && lat == nil && c.Count > c.MissingCount:
			lat = c
		case c.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE && c.Count > c.MissingCount:
			lons = append(lons, c)
		}
	}
	if lat == nil || len(lons) == 0 {
		return nil, nil
	}
	s := stem(lat.Name, latTok)
	for _, c := range lons {
		if stem(c.Name, lonTok) == s {
			return lat, c
		}
	}
	return lat, lons[0]
}

func mapView(ctx context.Context, in Input, name string, latC, lonC *profilingv1.ColumnProfile) (*Dashboard, error) {
	p := in.Profile
	lat, lon := num(latC.Name), num(lonC.Name)
	where := fmt.Sprintf("%s IS NOT NULL AND %s IS NOT NULL AND %s BETWEEN -90 AND 90 AND %s BETWEEN -180 AND 180", lat, lon, lat, lon)
	tab, err := in.Query(ctx, fmt.Sprintf("SELECT count(*) AS n, min(%s), max(%s), min(%s), max(%s), avg(%s), avg(%s) FROM data WHERE %s", lat, lat, lon, lon, lat, lon, where))
	if err != nil {
		return nil, fmt.Errorf("map extent: %w", err)
	}
	n := tab.Float(0, 0)
	if !(n > 0) {
		return overview(in, name), nil
	}
	box := [4]float64{tab.Float(0, 1), tab.Float(0, 2), tab.Float(0, 3), tab.Float(0, 4)}
	// The measure that colors the points: the first usable numeric column that is not a coordinate.
	measure := ""
	for _, c := range p.Columns {
		if usableNumeric(c) && c != latC && c != lonC {
			measure = c.Name
			break
		}
	}
	mExpr := "NULL"
	if measure != "" {
		mExpr = num(measure)
	}
	projection := "mercator"
	if math.Max(math.Abs(box[0]), math.Abs(box[1])) > 80 {
		projection = "equirectangular" // Mercator stretches without bound toward the poles
	}
	d := &Dashboard{Kind: KindMap, Title: fmt.Sprintf("Where the rows of %s are", name),
		Reason: fmt.Sprintf("%s and %s are latitude and longitude: the rows are drawn as points through a %s projection, without map tiles.", latC.Name, lonC.Name, projection)}
	binned := n > MaxMapPoints
	var query string
	if binned {
		dLat := math.Max((box[1]-box[0])/mapGrid, 1e-9)
		dLon := math.Max((box[3]-box[2])/mapGrid, 1e-9)
		query = fmt.Sprintf("SELECT avg(la) AS lat, avg(lo) AS lon, count(*) AS n, avg(m) AS m FROM (SELECT %s AS la, %s AS lo, %s AS m FROM data WHERE %s) GROUP BY floor((la - %v) / %v), floor((lo - %v) / %v) ORDER BY n DESC LIMIT %d",
			lat, lon, mExpr, where, box[0], dLat, box[2], dLon, MaxMapPoints)
	} else {
		query = fmt.Sprintf("SELECT %s AS lat, %s AS lon, 1 AS n, %s AS m FROM data WHERE %s LIMIT %d", lat, lon, mExpr, where, MaxMapPoints)
	}
	pts, err := in.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("map points: %w", err)
	}
	points := make([]mapPoint, len(pts.Rows))
	for i := range pts.Rows {
		points[i] = mapPoint{Lat: pts.Float(i, 0), Lon: pts.Float(i, 1), N: pts.Float(i, 2), M: pts.Float(i, 3)}
	}
	d.tileNum("points", "Located rows", n, Format(n), fmt.Sprintf("rows with both %s and %s (of %s)", latC.Name, lonC.Name, Format(float64(p.RowCount))))
	d.tile("bounding_box", "Bounding box", fmt.Sprintf("%s° to %s° lat, %s° to %s° lon", Format(box[0]), Format(box[1]), Format(box[2]), Format(box[3])), "the smallest latitude/longitude box holding every point")
	d.tile("center", "Center", fmt.Sprintf("%.4f°, %.4f°", tab.Float(0, 5), tab.Float(0, 6)), "mean latitude and longitude")
	if binned {
		d.tileNum("cells", "Map cells", float64(len(points)), Format(float64(len(points))), fmt.Sprintf("%s points binned into a %d×%d grid over the box; each circle is sized by its rows", Format(n), mapGrid, mapGrid))
	}
	title := fmt.Sprintf("%s by %s and %s", ternary(binned, "Rows", "Points"), latC.Name, lonC.Name)
	if measure != "" {
		title += ", colored by " + ternary(binned, "mean "+measure, measure)
	}
	d.panel(Panel{Title: title, Kind: "map", Width: 12,
		Description: fmt.Sprintf("%s projection of the points; the dashed outline is the data's bounding box.", strings.ToUpper(projection[:1])+projection[1:]),
		Spec:        mapSpec("", projection, latC.Name, lonC.Name, measure, points, binned, box)})
	d.distributions(p, 2, latC.Name, lonC.Name)
	return d, nil
}

// --- overview ---

func overview(in Input, name string) *Dashboard {
	p := in.Profile
	d := &Dashboard{Kind: KindOverview, Title: "Overview of " + name,
		Reason: "No time axis, coordinates or classification target: an overview of size, missingness and the main distributions."}
	var missing, withMissing float64
	for _, c := range p.Columns {
		missing += float64(c.MissingCount)
		if c.MissingCount > 0 {
			withMissing++
		}
	}
	cells := float64(p.RowCount) * float64(p.ColumnCount)
	d.tileNum("rows", "Rows", float64(p.RowCount), Format(float64(p.RowCount)), "")
	d.tileNum("columns", "Columns", float64(p.ColumnCount), Format(float64(p.ColumnCount)), "")
	share := 0.0
	if cells > 0 {
		share = missing / cells
	}
	d.tileNum("missing_share", "Missing cells", share, pct(share), fmt.Sprintf("%s of %s cells, in %s columns", Format(missing), Format(cells), Format(withMissing)))
	d.tileNum("duplicate_rows", "Duplicate rows", float64(p.DuplicateRows), Format(float64(p.DuplicateRows)), "rows that repeat an earlier row exactly")
	warn := 0.0
	for _, a := range p.Alerts {
		if a.Severity >= commonv1.Severity_SEVERITY_WARNING {
			warn++
		}
	}
	d.tileNum("alerts", "Data-quality warnings", warn, Format(warn), "profile alerts of warning or critical severity")
	// Missingness per column (the 15 most incomplete).
	type mc struct {
		name  string
		share float64
	}
	var ms []mc
	for _, c := range p.Columns {
		if c.MissingCount > 0 && c.Count > 0 {
			ms = append(ms, mc{c.Name, float64(c.MissingCount) / float64(c.Count)})
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].share > ms[j].share })
	if len(ms) > 0 {
		ms = ms[:min(len(ms), 15)]
		names, shares := make([]string, len(ms)), make([]float64, len(ms))
		for i, m := range ms {
			names[i], shares[i] = m.name, m.share
		}
		d.panel(Panel{Title: "Missing values by column", Kind: "missing", Width: 6,
			Description: "Share of missing cells in the most incomplete columns.",
			Spec:        barSpec("", "column", "share missing", names, shares, nil, true, true)})
	}
	d.distributions(p, 6-len(d.Panels))
	return d
}

// distributions adds up to k distribution panels from the profile's histograms and value counts
// (numeric columns first, then categorical), skipping the given columns.
func (d *Dashboard) distributions(p *profilingv1.Profile, k int, skip ...string) {
	var numCols, catCols []*profilingv1.ColumnProfile
	for _, c := range p.Columns {
		if slices.Contains(skip, c.Name) || c.Name == d.Target {
			continue
		}
		switch {
		case usableNumeric(c) && len(c.Numeric.Histogram) > 0:
			numCols = append(numCols, c)
		case isType(c, commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN) && len(c.TopValues) > 1:
			catCols = append(catCols, c)
		}
	}
	var pick []*profilingv1.ColumnProfile
	for i := 0; len(pick) < k && (i < len(numCols) || i < len(catCols)); i++ {
		if i < len(numCols) {
			pick = append(pick, numCols[i])
		}
		if i < len(catCols) && len(pick) < k {
			pick = append(pick, catCols[i])
		}
	}
	for _, c := range pick {
		if c.Numeric != nil && len(c.Numeric.Histogram) > 0 {
			bins := make([]charts.Bin, len(c.Numeric.Histogram))
			for i, b := range c.Numeric.Histogram {
				bins[i] = charts.Bin{Low: b.Low, High: b.High, Count: b.Count}
			}
			s := charts.Histogram("", c.Name, bins)
			s["height"] = 220.0
			d.panel(Panel{Title: "Distribution of " + c.Name, Kind: "distribution", Width: 6,
				Description: fmt.Sprintf("Histogram from the profile: mean %s, median %s, %s missing.", Format(c.Numeric.Mean), Format(c.Numeric.Median), Format(float64(c.MissingCount))),
				Spec:        s})
			continue
		}
		var labels []string
		var counts []float64
		for _, v := range c.TopValues {
			labels = append(labels, classLabel(c, v.Value))
			counts = append(counts, float64(v.Count))
		}
		desc := fmt.Sprintf("The %d most frequent of %s values (profile counts).", len(labels), Format(float64(c.DistinctCount)))
		d.panel(Panel{Title: "Values of " + c.Name, Kind: "distribution", Width: 6, Description: desc,
			Spec: barSpec("", c.Name, "rows", labels, counts, nil, false, false)})
	}
}
