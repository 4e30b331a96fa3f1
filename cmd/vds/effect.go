package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/ids"
)

func init() {
	register("effect", command{
		usage: "effect FILE_OR_DATASET_ID --treatment T --outcome Y [--confounders a,b] [--graph FILE] [--method M] [--format json]",
		help:  "estimate the causal effect of a treatment on an outcome, with balance, refutations and assumptions",
		run:   cmdEffect,
	})
}

const effectMethods = "regression_adjustment (default), ipw, aipw, matching, dml, difference_in_means, t_learner, x_learner"

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdEffect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("effect", "vds effect FILE_OR_DATASET_ID --treatment T --outcome Y — estimate a causal effect with its assumptions and checks", stderr)
	var pf platformFlags
	pf.bind(fs)
	treatment := fs.String("treatment", "", "the treatment column: binary, or with up to 20 levels (each level is compared with --reference; --treated-value picks the headline level), or numeric with a threshold as --treated-value (required)")
	outcome := fs.String("outcome", "", "the outcome column (numeric or two-valued) (required)")
	confounders := fs.String("confounders", "", "comma-separated columns to adjust for (common causes of treatment and outcome)")
	graphFile := fs.String("graph", "", "file with a causal graph (DOT digraph or one 'a -> b' edge per line); the adjustment set is then found by the back-door criterion")
	method := fs.String("method", "", "estimator: "+effectMethods)
	treated := fs.String("treated-value", "", "the treatment value that counts as treated (for text or non-0/1 treatments); for a numeric treatment also a threshold such as '>28' (the rows above 28 are treated), '>=', '<' or '<='")
	reference := fs.String("reference", "", "for a treatment with more than two levels: the level the others are compared with (default: a control-like level, else the first)")
	estimand := fs.String("estimand", "", "ate (default) or att (effect on the treated)")
	squared := fs.String("squared", "", "comma-separated numeric confounders that also enter squared")
	categorical := fs.String("categorical", "", "comma-separated numeric confounders to treat as categories")
	format := fs.String("format", "markdown", "output format: json (the estimate as JSON) or markdown")
	var cf connFlags
	cf.bind(fs)
	noProgress := fs.Bool("no-progress", false, "do not draw the progress bar on stderr")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageError{"effect needs a data file or dataset ID: vds effect FILE --treatment T --outcome Y"}
	case len(pos) > 1:
		return usageError{fmt.Sprintf("effect takes one data file or dataset ID, got %d: %q", len(pos), pos)}
	case *treatment == "":
		return usageError{"--treatment is required"}
	case *outcome == "":
		return usageError{"--outcome is required"}
	case *treatment == *outcome:
		return usageError{"--treatment and --outcome must be different columns"}
	}
	if err := oneOf("format", *format, "json", "markdown"); err != nil {
		return err
	}
	if err := oneOfOrDefault("estimand", *estimand, "ate", "ate", "att"); err != nil {
		return err
	}
	req := &causalv1.EstimateEffectRequest{Treatment: *treatment, Outcome: *outcome, Confounders: splitList(*confounders), Method: *method,
		TreatedValue: *treated, ReferenceValue: *reference, Estimand: *estimand, Squared: splitList(*squared), Categorical: splitList(*categorical)}
	if *graphFile != "" {
		b, err := os.ReadFile(*graphFile)
		if err != nil {
			return fmt.Errorf("cannot read the graph: %w", errors.Unwrap(err))
		}
		if len(b) > 1<<20 {
			return usageError{"--graph file is larger than 1 MiB"}
		}
		req.GraphText = string(b)
	}
	src := pos[0]
	srcID, srcVersion := splitDatasetID(src) // ds_… or ds_….vN
	isFile := true
	if st, err := os.Stat(src); err != nil {
		if !datasetIDRE.MatchString(src) || ids.Check(srcID, ids.Dataset) != nil {
			return fmt.Errorf("cannot read %s: %w (give a data file or a dataset ID ds_…)", src, errors.Unwrap(err))
		}
		isFile = false
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}

	bar := newProgress(stderr, *noProgress)
	defer bar.done()
	c, proj, stop, err := connect(ctx, &pf, &cf, bar)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Close()

	ref := &commonv1.DatasetRef{DatasetId: srcID, Version: srcVersion}
	if isFile {
		bar.stage("upload "+filepath.Base(src), 0)
		up, err := c.UploadFile(ctx, proj, src, func(sent, total int64) {
			if total > 0 {
				bar.set(float64(sent)/float64(total), fmt.Sprintf("%s of %s", bytesHuman(sent), bytesHuman(total)))
			}
		})
		if err != nil {
			return explain(err, "upload")
		}
		bar.stage("ingest", 0)
		if up.JobId != "" {
			if _, err := c.WaitJob(ctx, up.JobId, jobEvents(bar)); err != nil {
				return explain(err, "ingest")
			}
		}
		ref = &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
	}
	req.Dataset = ref
	bar.stage("estimate", 0)
	resp, err := c.Causal.EstimateEffect(ctx, req)
	if err != nil {
		return explain(err, "estimate")
	}
	if _, err := c.WaitJob(ctx, resp.JobId, jobEvents(bar)); err != nil {
		return explain(err, "estimate")
	}
	got, err := c.Causal.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: resp.EstimateId})
	if err != nil {
		return explain(err, "estimate")
	}
	est := got.Estimate
	if est.Error != "" {
		return fmt.Errorf("estimate failed: %s", est.Error)
	}
	bar.done()
	if *format == "json" {
		b, err := effectJSON(est)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	return writeEffect(stdout, est)
}

// treatedCondition says which rows are treated: "age > 28" for a threshold, else "sex = female".
func treatedCondition(treatment, value string) string {
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(value, op); ok {
			return treatment + " " + op + " " + rest
		}
	}
	return treatment + " = " + value
}

// effectJSON is the estimate as protojson (field names as in the proto) plus "interval": [low, high].
func effectJSON(est *causalv1.Estimate) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(est)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["interval"] = []float64{est.CiLow, est.CiHigh}
	if les, ok := m["level_effects"].([]any); ok {
		for i, le := range est.LevelEffects {
			if i >= len(les) {
				break
			}
			// A level that could not be estimated has NaN numbers (JSON "NaN" strings): no interval.
			if lm, ok := les[i].(map[string]any); ok && !math.IsNaN(le.CiLow) && !math.IsNaN(le.CiHigh) {
				lm["interval"] = []float64{le.CiLow, le.CiHigh}
			}
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

func writeEffect(w io.Writer, e *causalv1.Estimate) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Effect of %s on %s\n\n", e.Treatment, e.Outcome)
	fmt.Fprintf(&b, "**%s = %.4g** (95%% interval %.4g to %.4g, SE %.4g) by %s; %d treated (%s), %d control.\n\n",
		strings.ToUpper(e.Estimand), e.Ate, e.CiLow, e.CiHigh, e.StdError, e.Method, e.NTreated, treatedCondition(e.Treatment, e.TreatedValue), e.NControl)
	fmt.Fprintf(&b, "Naive difference in means: %.4g", e.NaiveDifference)
	if e.Method != "difference_in_means" && math.Abs(e.NaiveDifference-e.Ate) > 2*e.StdError {
		fmt.Fprintf(&b, " — biased by confounding (more than two standard errors from the adjusted estimate)")
	}
	b.WriteString(".\n\n")
	if e.Identification != "" {
		fmt.Fprintf(&b, "Identification: %s\n\n", e.Identification)
	}
	if len(e.AdjustmentSet) > 0 {
		fmt.Fprintf(&b, "Adjustment set: %s\n\n", strings.Join(e.AdjustmentSet, ", "))
	}
	if len(e.PassedChecks)+len(e.FailedChecks) > 0 {
		fmt.Fprintf(&b, "Checks passed: %s. Failed: %s.\n\n", orNone(e.PassedChecks), orNone(e.FailedChecks))
	}
	if len(e.Balance) > 0 {
		reweighted := false
		for _, x := range e.Balance {
			reweighted = reweighted || x.SmdAfter != x.SmdBefore
		}
		if reweighted {
			b.WriteString("| covariate | SMD before | SMD after |\n|---|---:|---:|\n")
			for _, x := range e.Balance {
				fmt.Fprintf(&b, "| %s | %.3f | %.3f |\n", cell(x.Covariate), x.SmdBefore, x.SmdAfter)
			}
		} else {
			// Regression adjustment (and the naive difference) do not reweight the rows: an "after"
			// column would only repeat the raw imbalance, which the outcome model adjusts for instead.
			fmt.Fprintf(&b, "Covariate imbalance between the groups (%s does not reweight rows; the outcome model adjusts for it):\n\n| covariate | SMD |\n|---|---:|\n", e.Method)
			for _, x := range e.Balance {
				fmt.Fprintf(&b, "| %s | %.3f |\n", cell(x.Covariate), x.SmdBefore)
			}
		}
		b.WriteString("\n")
	}
	if len(e.Refutations) > 0 {
		b.WriteString("| refutation | new effect | passed | detail |\n|---|---:|---|---|\n")
		for _, r := range e.Refutations {
			fmt.Fprintf(&b, "| %s | %.4g | %v | %s |\n", r.Name, r.NewEffect, r.Passed, cell(r.Detail))
		}
		b.WriteString("\n")
	}
	if len(e.LevelEffects) > 0 {
		fmt.Fprintf(&b, "Each level of %s against the reference %s (among the rows at the two levels):\n\n", e.Treatment, e.ReferenceValue)
		b.WriteString("| level | effect | 95% interval | SE | rows (level / reference) |\n|---|---:|---|---:|---|\n")
		for _, l := range e.LevelEffects {
			fmt.Fprintf(&b, "| %s | %.4g | %.4g to %.4g | %.4g | %d / %d |\n", cell(l.Level), l.Ate, l.CiLow, l.CiHigh, l.StdError, l.NLevel, l.NReference)
		}
		b.WriteString("\n")
	}
	if len(e.Segments) > 0 {
		b.WriteString("| segment | rows | mean effect |\n|---|---:|---:|\n")
		for _, s := range e.Segments {
			fmt.Fprintf(&b, "| %s | %d | %.4g |\n", cell(s.Condition), s.N, s.Effect)
		}
		b.WriteString("\n")
	}
	if len(e.Assumptions) > 0 {
		b.WriteString("Assumptions:\n")
		for _, a := range e.Assumptions {
			fmt.Fprintf(&b, "- %s\n", a)
		}
		b.WriteString("\n")
	}
	if len(e.Warnings) > 0 {
		b.WriteString("Warnings:\n")
		for _, x := range e.Warnings {
			fmt.Fprintf(&b, "- %s\n", x)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
