package profile

import (
	"fmt"
	"math"
	"slices"
	"strings"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// Alert thresholds.
const (
	manyMissingShare  = 0.2  // many_missing above this share of rows
	nearConstantShare = 0.95 // near_constant when the top value holds this share of present rows
	highCardinality   = 50   // high_cardinality for categoricals with more distinct values ...
	highCardShare     = 0.5  // ... that also cover more than this share of rows, or more than 100 values
	skewThreshold     = 2.0  // skewed when |skewness| exceeds this
	imbalanceShare    = 0.2  // imbalance when the minority class share is below this
	leakageU          = 0.9  // leakage when a feature explains this share of the target's entropy
	leakageR          = 0.98 // leakage for numeric targets: |r| or eta at least this
)

func alert(kind string, sev commonv1.Severity, cols []string, msg string, ev map[string]float64) *profilingv1.Alert {
	return &profilingv1.Alert{Kind: kind, Severity: sev, Columns: cols, Message: msg, Evidence: ev}
}

// columnAlerts runs the single-column checks.
func columnAlerts(infos []*colInfo, rows int) []*profilingv1.Alert {
	var out []*profilingv1.Alert
	for _, ci := range infos {
		name := ci.col.Name
		cols := []string{name}
		p := ci.prof
		present := ci.present()
		if rows == 0 {
			continue
		}
		missShare := float64(p.MissingCount) / float64(rows)
		if present == 0 {
			out = append(out, alert("all_missing", commonv1.Severity_SEVERITY_WARNING, cols,
				fmt.Sprintf("%s has no values; it is skipped in analysis and modelling", name),
				map[string]float64{"missing": float64(p.MissingCount)}))
			continue
		}
		if missShare > manyMissingShare {
			sev := commonv1.Severity_SEVERITY_WARNING
			if missShare < 0.5 {
				sev = commonv1.Severity_SEVERITY_INFO
			}
			out = append(out, alert("many_missing", sev, cols,
				fmt.Sprintf("%s is missing in %.1f%% of rows", name, 100*missShare),
				map[string]float64{"missing": float64(p.MissingCount), "share": missShare}))
		}
		if p.DistinctCount == 1 {
			out = append(out, alert("constant", commonv1.Severity_SEVERITY_WARNING, cols,
				fmt.Sprintf("%s has a single value; it carries no information", name),
				map[string]float64{"distinct": 1, "missing_share": missShare}))
		} else if ci.topShare >= nearConstantShare {
			out = append(out, alert("near_constant", commonv1.Severity_SEVERITY_INFO, cols,
				fmt.Sprintf("%s has one value in %.1f%% of its rows", name, 100*ci.topShare),
				map[string]float64{"top_share": ci.topShare, "distinct": float64(p.DistinctCount)}))
		}
		if ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER {
			out = append(out, alert("identifier", commonv1.Severity_SEVERITY_WARNING, cols,
				fmt.Sprintf("%s looks like an identifier (%d distinct of %d values); exclude it from modelling", name, p.DistinctCount, present),
				map[string]float64{"distinct": float64(p.DistinctCount), "distinct_share": float64(p.DistinctCount) / float64(present)}))
		}
		if ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL && p.DistinctCount > highCardinality &&
			(float64(p.DistinctCount) > highCardShare*float64(present) || p.DistinctCount > 2*highCardinality) {
			out = append(out, alert("high_cardinality", commonv1.Severity_SEVERITY_INFO, cols,
				fmt.Sprintf("%s has %d distinct values; group rare levels or encode it before modelling", name, p.DistinctCount),
				map[string]float64{"distinct": float64(p.DistinctCount), "distinct_share": float64(p.DistinctCount) / float64(present)}))
		}
		if ns := p.Numeric; ns != nil && math.Abs(ns.Skewness) > skewThreshold && ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC {
			out = append(out, alert("skewed", commonv1.Severity_SEVERITY_INFO, cols,
				fmt.Sprintf("%s is strongly skewed (skewness %.2f); consider a log or rank transform", name, ns.Skewness),
				map[string]float64{"skewness": ns.Skewness, "kurtosis": ns.Kurtosis}))
		}
		if sc := ci.scale; sc != nil {
			minority, share := "smaller", sc.lowShare
			if share > 0.5 {
				minority, share = "larger", 1-share
			}
			out = append(out, alert("scale_mismatch", commonv1.Severity_SEVERITY_WARNING, cols,
				fmt.Sprintf("%s mixes two scales: %.1f%% of its values are about %gx %s (median %s vs %s), as if recorded in another unit",
					name, 100*share, sc.factor, minority, fmtNum(sc.lowMedian), fmtNum(sc.highMedian)),
				map[string]float64{"factor": sc.factor, "minority_share": share, "low_median": sc.lowMedian, "high_median": sc.highMedian}))
		}
		if ci.col.Kind == frame.String {
			out = append(out, typeAlerts(ci)...)
		}
	}
	return out
}

// typeAlerts flags placeholder strings and columns that mix numbers with words.
func typeAlerts(ci *colInfo) []*profilingv1.Alert {
	var out []*profilingv1.Alert
	name := ci.col.Name
	present := float64(ci.present())
	var ph int64
	var tokens []string
	for v, n := range ci.placeholders {
		ph += n
		tokens = append(tokens, fmt.Sprintf("%q", v))
	}
	slices.Sort(tokens)
	// Numeric-looking columns where a few word values are not numbers are placeholders too.
	var odd int64
	var oddTokens []string
	if ci.numericShare >= 0.5 && len(ci.nonNumeric) <= 5 {
		for v, n := range ci.nonNumeric {
			odd += n
			oddTokens = append(oddTokens, fmt.Sprintf("%q", v))
		}
		slices.Sort(oddTokens)
	}
	if ph+odd > 0 {
		all := append(tokens, oddTokens...)
		out = append(out, alert("placeholder", commonv1.Severity_SEVERITY_WARNING, []string{name},
			fmt.Sprintf("%s holds %d placeholder values (%s) that should be missing", name, ph+odd, strings.Join(all, ", ")),
			map[string]float64{"placeholders": float64(ph + odd), "share": float64(ph+odd) / present, "numeric_share": ci.numericShare}))
	}
	if ci.numericShare >= 0.05 && !(ci.numericShare >= 0.5 && len(ci.nonNumeric) <= 5) && ci.numericShare < 1 &&
		ci.sem != commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER {
		out = append(out, alert("mixed_types", commonv1.Severity_SEVERITY_WARNING, []string{name},
			fmt.Sprintf("%s mixes numbers (%.0f%% of values) with text; it is kept as text", name, 100*ci.numericShare),
			map[string]float64{"numeric_share": ci.numericShare, "non_numeric_distinct": float64(len(ci.nonNumeric))}))
	}
	return out
}
