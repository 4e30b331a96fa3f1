package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/plural"
)

// writeMarkdown renders an analysis report for people.
func writeMarkdown(w io.Writer, r *orchestratorv1.AnalysisReport) error {
	var b strings.Builder
	d := r.Dataset
	fmt.Fprintf(&b, "# Analysis of %s in %s\n\n", r.Target, d.GetName())
	if r.Question != "" {
		fmt.Fprintf(&b, "> %s\n\n", r.Question)
	}
	if r.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", fixCounts(r.Summary))
	}
	fmt.Fprintf(&b, "Dataset `%s` version %d: %s, %s.", d.GetId(), d.GetVersion(), plural.Count(d.GetRowCount(), "row"), plural.Count(int64(d.GetColumnCount()), "column"))
	if r.PositiveClass != "" {
		fmt.Fprintf(&b, " Positive class of %s: `%s`.", r.Target, r.PositiveClass)
	}
	b.WriteString("\n\n## Columns\n\n| column | type | missing |\n|---|---|---:|\n")
	for _, c := range d.GetColumns() {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", cell(c.Name), c.Type, c.MissingCount)
	}
	if m := r.Model; m != nil {
		fmt.Fprintf(&b, "\n## Model\n\nBest: **%s** (`%s`), %d-fold cross-validated %s %.4f ± %.4f.\n", m.Algorithm, m.Id, m.CvFolds, m.Metric, m.CvScore, m.CvStd)
		if len(r.Leaderboard) > 0 {
			b.WriteString("\n| rank | algorithm | configuration | CV score | ± |\n|---:|---|---|---:|---:|\n")
			for i, row := range r.Leaderboard {
				if i == 10 {
					fmt.Fprintf(&b, "| … | %d more | | | |\n", len(r.Leaderboard)-10)
					break
				}
				fmt.Fprintf(&b, "| %d | %s | %s | %.4f | %.4f |\n", i+1, row.Algorithm, cell(row.Config), row.CvScore, row.CvStd)
			}
		}
	}
	if len(r.Drivers) > 0 {
		b.WriteString("\n## Drivers\n\n| feature | importance | ± |\n|---|---:|---:|\n")
		for i, dr := range r.Drivers {
			if i == 15 {
				break
			}
			fmt.Fprintf(&b, "| %s | %.4f | %.4f |\n", cell(dr.Feature), dr.Importance, dr.Std)
		}
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n## Findings\n\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "- %s%s\n", fixCounts(f.Statement), values(f.Values))
		}
	}
	if len(r.Charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range r.Charts {
			fmt.Fprintf(&b, "- %s (`%s`, %s)\n", c.Title, c.Id, c.Kind)
		}
		b.WriteString("\nThe Vega-Lite specifications are in `--format json` (`charts[].vegaLite`).\n")
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n## Warnings\n\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "- %s\n", fixCounts(wn))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func values(v map[string]float64) string {
	if len(v) == 0 {
		return ""
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, v[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
