package learn

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// maxLevels caps one-hot levels per text column; rarer values share an "other" feature.
const maxLevels = 30

// dense is a column-major feature matrix: cols[j][i] is feature j of row i.
type dense struct {
	n, p int
	cols [][]float64
}

func newDense(n, p int) *dense {
	d := &dense{n: n, p: p, cols: make([][]float64, p)}
	buf := make([]float64, n*p)
	for j := range d.cols {
		d.cols[j] = buf[j*n : (j+1)*n : (j+1)*n]
	}
	return d
}

type prepKind int

const (
	prepLinear prepKind = iota // impute + missing indicators + standardize
	prepTree                   // keep NaN for native missing handling
)

func numAt(c *frame.Column, i int) float64 {
	if c == nil || c.Null[i] {
		return math.NaN()
	}
	if c.Kind == frame.String {
		v, err := strconv.ParseFloat(strings.TrimSpace(c.S[i]), 64)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	return c.F[i]
}

func strAt(c *frame.Column, i int) (string, bool) {
	if c == nil || c.Null[i] {
		return "", false
	}
	if c.Kind == frame.String {
		if strings.TrimSpace(c.S[i]) == "" {
			return "", false
		}
		return c.S[i], true
	}
	if math.IsNaN(c.F[i]) {
		return "", false
	}
	if c.Kind == frame.Bool {
		if c.F[i] != 0 {
			return "true", true
		}
		return "false", true
	}
	return strconv.FormatFloat(c.F[i], 'f', -1, 64), true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

var allParts = []mlv1.DatetimePart{
	mlv1.DatetimePart_DATETIME_PART_YEAR, mlv1.DatetimePart_DATETIME_PART_MONTH,
	mlv1.DatetimePart_DATETIME_PART_DAY, mlv1.DatetimePart_DATETIME_PART_WEEKDAY,
	mlv1.DatetimePart_DATETIME_PART_HOUR, mlv1.DatetimePart_DATETIME_PART_EPOCH_DAYS,
}

func datePart(sec float64, p mlv1.DatetimePart) float64 {
	if math.IsNaN(sec) {
		return math.NaN()
	}
	t := time.Unix(int64(math.Floor(sec)), 0).UTC()
	switch p {
	case mlv1.DatetimePart_DATETIME_PART_YEAR:
		return float64(t.Year())
	case mlv1.DatetimePart_DATETIME_PART_MONTH:
		return float64(t.Month())
	case mlv1.DatetimePart_DATETIME_PART_DAY:
		return float64(t.Day())
	case mlv1.DatetimePart_DATETIME_PART_WEEKDAY:
		return float64(t.Weekday())
	case mlv1.DatetimePart_DATETIME_PART_HOUR:
		return float64(t.Hour()) + float64(t.Minute())/60
	case mlv1.DatetimePart_DATETIME_PART_EPOCH_DAYS:
		return sec / 86400
	}
	return math.NaN()
}

// fitPrep learns the preprocessing of the named columns from the given rows.
func fitPrep(f *frame.Frame, features []string, rows []int, kind prepKind) *mlv1.Preprocessing {
	pp := &mlv1.Preprocessing{}
	impute := kind == prepLinear
	for _, name := range features {
		c := f.Col(name)
		if c == nil {
			continue
		}
		ct := &mlv1.ColumnTransform{Column: name}
		switch c.Kind {
		case frame.String:
			ct.SourceText = true
			counts := map[string]int{}
			missing := 0
			for _, r := range rows {
				s, ok := strAt(c, r)
				if !ok {
					missing++
					continue
				}
				counts[s]++
			}
			levels := make([]string, 0, len(counts))
			for s := range counts {
				levels = append(levels, s)
			}
			sort.Slice(levels, func(a, b int) bool {
				if counts[levels[a]] != counts[levels[b]] {
					return counts[levels[a]] > counts[levels[b]]
				}
				return levels[a] < levels[b]
			})
			ct.Encoding = mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT
			if len(levels) > maxLevels {
				ct.Encoding = mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY
				ct.OtherLevel = true
				sorted := append([]string(nil), levels...)
				sort.Strings(sorted)
				ct.FrequencyLevels = sorted
				ct.FrequencyValues = make([]float64, len(sorted))
				for i, s := range sorted {
					ct.FrequencyValues[i] = float64(counts[s]) / float64(len(rows))
				}
				ct.FrequencyDefault = 0
				levels = levels[:maxLevels]
			}
			ct.Levels = levels
			ct.MissingLevel = missing > 0
			for _, l := range levels {
				pp.FeatureNames = append(pp.FeatureNames, name+"="+l)
			}
			if ct.OtherLevel {
				pp.FeatureNames = append(pp.FeatureNames, name+"=__other__")
			}
			if ct.MissingLevel {
				pp.FeatureNames = append(pp.FeatureNames, name+"=__missing__")
			}
			if ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				pp.FeatureNames = append(pp.FeatureNames, name+"__freq")
			}
		case frame.Time:
			ct.Encoding = mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME
			ct.Impute = impute
			vals := make([][]float64, len(allParts))
			hasMiss := false
			hasTime := false
			for _, r := range rows {
				v := numAt(c, r)
				if math.IsNaN(v) {
					hasMiss = true
					continue
				}
				if math.Mod(v, 86400) != 0 {
					hasTime = true
				}
				for k, p := range allParts {
					vals[k] = append(vals[k], datePart(v, p))
				}
			}
			for k, p := range allParts {
				if p == mlv1.DatetimePart_DATETIME_PART_HOUR && !hasTime {
					continue
				}
				ct.Parts = append(ct.Parts, p)
				ct.PartImputeValues = append(ct.PartImputeValues, median(vals[k]))
				pp.FeatureNames = append(pp.FeatureNames, name+"__"+strings.ToLower(strings.TrimPrefix(p.String(), "DATETIME_PART_")))
			}
			ct.MissingIndicator = impute && hasMiss
			if ct.MissingIndicator {
				pp.FeatureNames = append(pp.FeatureNames, name+"__missing")
			}
		default:
			ct.Encoding = mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC
			ct.Impute = impute
			var vals []float64
			hasMiss := false
			for _, r := range rows {
				v := numAt(c, r)
				if math.IsNaN(v) {
					hasMiss = true
					continue
				}
				vals = append(vals, v)
			}
			ct.ImputeValue = median(vals)
			ct.MissingIndicator = impute && hasMiss
			// The training range and a boolean source let Predict say what a bad value should be.
			ct.SourceBoolean = c.Kind == frame.Bool
			if len(vals) > 0 {
				lo, hi := slices.Min(vals), slices.Max(vals)
				ct.MinValue, ct.MaxValue = &lo, &hi
			}
			pp.FeatureNames = append(pp.FeatureNames, name)
			if ct.MissingIndicator {
				pp.FeatureNames = append(pp.FeatureNames, name+"__missing")
			}
		}
		pp.Columns = append(pp.Columns, ct)
	}
	if kind == prepLinear {
		d := transform(pp, f, rows)
		pp.ScaleMean = make([]float64, d.p)
		pp.ScaleStd = make([]float64, d.p)
		for j, col := range d.cols {
			m, s := meanStd(col)
			if math.IsNaN(s) || s < 1e-12 {
				s = 1
			}
			if math.IsNaN(m) {
				m = 0
			}
			pp.ScaleMean[j], pp.ScaleStd[j] = m, s
		}
	}
	return pp
}

// transform applies pp to the given rows of f (all rows when rows is nil). Columns missing from f
// are treated as all-missing; unseen levels go to the "other" feature (or to no level).
// columnSpans maps each input column to the half-open range of encoded feature columns that
// transform writes for it (the same widths transform uses).
func columnSpans(pp *mlv1.Preprocessing) map[string][2]int {
	out := make(map[string][2]int, len(pp.GetColumns()))
	j := 0
	for _, ct := range pp.GetColumns() {
		w := 0
		switch ct.Encoding {
		case mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC:
			w = 1
		case mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME:
			w = len(ct.Parts)
		default:
			w = len(ct.Levels)
			if ct.OtherLevel {
				w++
			}
			if ct.MissingLevel {
				w++
			}
			if ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				w++
			}
		}
		if ct.MissingIndicator && (ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC || ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME) {
			w++
		}
		out[ct.Column] = [2]int{j, j + w}
		j += w
	}
	return out
}

func transform(pp *mlv1.Preprocessing, f *frame.Frame, rows []int) *dense {
	if rows == nil {
		rows = make([]int, f.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	n := len(rows)
	d := newDense(n, len(pp.FeatureNames))
	j := 0
	for _, ct := range pp.Columns {
		c := f.Col(ct.Column)
		if c != nil && c.Len() != f.Rows {
			c = nil
		}
		switch ct.Encoding {
		case mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC:
			out := d.cols[j]
			var ind []float64
			if ct.MissingIndicator {
				ind = d.cols[j+1]
			}
			for i, r := range rows {
				v := math.NaN()
				if c != nil {
					v = numAt(c, r)
				}
				if math.IsNaN(v) {
					if ind != nil {
						ind[i] = 1
					}
					if ct.Impute {
						v = ct.ImputeValue
					}
				}
				out[i] = v
			}
			j++
			if ct.MissingIndicator {
				j++
			}
		case mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME:
			np := len(ct.Parts)
			for i, r := range rows {
				v := math.NaN()
				if c != nil {
					v = numAt(c, r)
				}
				for k, p := range ct.Parts {
					x := datePart(v, p)
					if math.IsNaN(x) && ct.Impute {
						x = ct.PartImputeValues[k]
					}
					d.cols[j+k][i] = x
				}
				if ct.MissingIndicator && math.IsNaN(v) {
					d.cols[j+np][i] = 1
				}
			}
			j += np
			if ct.MissingIndicator {
				j++
			}
		default: // one-hot (+ frequency)
			lv := make(map[string]int, len(ct.Levels))
			for k, l := range ct.Levels {
				lv[l] = k
			}
			var freq map[string]float64
			if ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				freq = make(map[string]float64, len(ct.FrequencyLevels))
				for k, l := range ct.FrequencyLevels {
					freq[l] = ct.FrequencyValues[k]
				}
			}
			nl := len(ct.Levels)
			other, miss := -1, -1
			w := nl
			if ct.OtherLevel {
				other = j + w
				w++
			}
			if ct.MissingLevel {
				miss = j + w
				w++
			}
			fq := -1
			if freq != nil {
				fq = j + w
				w++
			}
			for i, r := range rows {
				s, ok := strAt(c, r)
				if !ok {
					if miss >= 0 {
						d.cols[miss][i] = 1
					}
					if fq >= 0 {
						d.cols[fq][i] = ct.FrequencyDefault
					}
					continue
				}
				if k, ok := lv[s]; ok {
					d.cols[j+k][i] = 1
				} else if other >= 0 {
					d.cols[other][i] = 1
				}
				if fq >= 0 {
					if v, ok := freq[s]; ok {
						d.cols[fq][i] = v
					} else {
						d.cols[fq][i] = ct.FrequencyDefault
					}
				}
			}
			j += w
		}
	}
	if len(pp.ScaleMean) == d.p && d.p > 0 {
		for k, col := range d.cols {
			m, s := pp.ScaleMean[k], pp.ScaleStd[k]
			for i := range col {
				col[i] = (col[i] - m) / s
			}
		}
	}
	return d
}
