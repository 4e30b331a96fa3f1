package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
)

func cmdAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", "vds analyze FILE_OR_DATASET_ID --target COLUMN — analyse a data file (uploaded first) or a dataset (ds_…, or ds_….vN for a version): profile, models, drivers, findings", stderr)
	var pf platformFlags
	pf.bind(fs)
	target := fs.String("target", "", "the column to explain and predict (required)")
	question := fs.String("question", "", "the question in words (kept in the report)")
	budget := fs.Duration("budget", 0, "model-training budget, for example 45s or 2m (default: the server's, 30s)")
	format := fs.String("format", "markdown", "output format: json (one AnalysisReport as protojson) or markdown")
	var cf connFlags
	cf.bind(fs)
	noProgress := fs.Bool("no-progress", false, "do not draw the progress bar on stderr")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageError{"analyze needs a data file or dataset ID: vds analyze FILE_OR_DATASET_ID --target COLUMN"}
	case len(pos) > 1:
		return usageError{fmt.Sprintf("analyze takes one data file or dataset ID, got %d: %q", len(pos), pos)}
	case *target == "":
		return usageError{"--target is required: the column to explain and predict"}
	case *budget < 0 || *budget > time.Hour:
		return usageError{fmt.Sprintf("--budget must be between 0 and 1h, not %s", *budget)}
	}
	if err := oneOf("format", *format, "json", "markdown"); err != nil {
		return err
	}
	file := pos[0]
	st, err := os.Stat(file)
	isID := err != nil && datasetIDRE.MatchString(file) // a file of that name wins, as in exec and ask
	switch {
	case isID:
	case err != nil:
		return fmt.Errorf("cannot read %s: %w (give a data file or a dataset ID ds_…)", file, errors.Unwrap(err))
	case st.IsDir():
		return fmt.Errorf("%s is a directory; give a data file (CSV, TSV, JSON, NDJSON, Parquet, Arrow)", file)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", file)
	}
	bar := newProgress(stderr, *noProgress)
	defer bar.done()

	c, proj, stop, err := connect(ctx, &pf, &cf, bar)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Close()

	rep, err := analyzeFile(ctx, c, proj, file, isID, *target, *question, *budget, bar)
	if err != nil {
		if ctx.Err() != nil && !errors.As(err, new(interruptedError)) { // interrupted before a job started
			bar.abort()
			return interruptedError{}
		}
		return err
	}
	bar.done()
	switch *format {
	case "json":
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	default:
		return writeMarkdown(stdout, rep)
	}
}

// analyzeFile is the main job through the public API: upload, wait for ingest (unless input is a
// dataset ID, ds_… or ds_….vN: its latest ready version or version N), run the analysis.
func analyzeFile(ctx context.Context, c *client.Client, project, input string, isID bool, target, question string, budget time.Duration, bar *progress) (*orchestratorv1.AnalysisReport, error) {
	var ref *commonv1.DatasetRef
	if isID {
		bar.stage("dataset "+input, 0)
		r, _, err := resolveInput(ctx, c, project, input)
		if err != nil {
			return nil, err
		}
		ref = r
	} else {
		bar.stage("upload "+filepath.Base(input), 0)
		up, err := c.UploadFile(ctx, project, input, func(sent, total int64) {
			if total > 0 {
				bar.set(float64(sent)/float64(total), fmt.Sprintf("%s of %s", bytesHuman(sent), bytesHuman(total)))
			}
		})
		if err != nil {
			return nil, explain(err, "upload")
		}
		bar.stage("ingest", 0)
		if up.JobId != "" {
			if _, err := c.WaitJob(ctx, up.JobId, jobEvents(bar)); err != nil {
				if ctx.Err() != nil {
					return nil, cancelJobs(c, bar, startedJob{up.JobId, "ingest"})
				}
				return nil, explain(err, "ingest")
			}
		}
		ref = &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}
	}
	bar.stage("analyse", 0)
	sa, err := c.Orchestrator.StartAnalysis(ctx, &orchestratorv1.StartAnalysisRequest{
		Dataset: ref, Target: target, Question: question, BudgetSeconds: budget.Seconds()})
	if err != nil {
		if ctx.Err() != nil {
			bar.abort()
			return nil, interruptedError{}
		}
		return nil, explain(err, "analysis")
	}
	if _, err := c.WaitJob(ctx, sa.JobId, jobEvents(bar)); err != nil {
		if ctx.Err() != nil {
			return nil, cancelJobs(c, bar, startedJob{sa.JobId, "analysis"})
		}
		var je *client.JobError
		if errors.As(err, &je) {
			// The report keeps what was done before the failing step.
			if r, gerr := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: sa.AnalysisId}); gerr == nil && r.Report.Error != "" {
				return nil, fmt.Errorf("analysis failed: %s", r.Report.Error)
			}
		}
		return nil, explain(err, "analysis")
	}
	r, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: sa.AnalysisId})
	if err != nil {
		return nil, explain(err, "analysis report")
	}
	return r.Report, nil
}

// startedJob is a job a command started and waits for; what names it for the user (analysis, ingest).
type startedJob struct{ id, what string }

// cancelJobs is what an interrupted command (Ctrl-C, SIGTERM) does about the server-side jobs it
// started: it cancels them and says so on stderr; a job it cannot cancel is named, with its ID, so
// the user can. A cancelled analysis cancels the training it started itself (the orchestrator
// does, at the training's next progress event); nothing else of the project is touched. The
// returned error exits 130.
func cancelJobs(c *client.Client, bar *progress, jobs ...startedJob) error {
	bar.abort()
	w := bar.w
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range jobs {
		r, err := c.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: j.id})
		switch {
		case err != nil:
			fmt.Fprintf(w, "could not cancel job %s (%s): %v; it may still be running\n", j.id, j.what, explain(err, "cancel"))
		case r.Job.State == jobsv1.JobState_JOB_STATE_CANCELLED:
			fmt.Fprintf(w, "cancelled: job %s (%s)\n", j.id, j.what)
		default:
			fmt.Fprintf(w, "job %s (%s) had already ended: %s\n", j.id, j.what, jobStateName(r.Job.State))
		}
	}
	return interruptedError{}
}

func jobStateName(s jobsv1.JobState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "JOB_STATE_"))
}

func jobEvents(bar *progress) func(*jobsv1.JobEvent) {
	return func(ev *jobsv1.JobEvent) {
		msg := ev.Stage
		if ev.Message != "" {
			if msg != "" {
				msg += ": "
			}
			msg += ev.Message
		}
		bar.set(ev.Progress, fixCounts(msg))
	}
}

// explain turns a gRPC status into a sentence that names the step.
func explain(err error, step string) error {
	var je *client.JobError
	if errors.As(err, &je) {
		return fmt.Errorf("%s failed: %s", step, je.Job.Error)
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable:
			m := s.Message()
			switch {
			case grpcx.IsStopping(err) || strings.Contains(m, "graceful_stop") || strings.Contains(m, "goaway") || strings.Contains(m, "error reading from server: EOF"):
				// Connected before, then the platform went away (Ctrl-C on vds up, a restart).
				return fmt.Errorf("%s: the platform stopped while this command was waiting for it; the work it had started goes on when the platform is up again (run the command again then)", step)
			case strings.Contains(m, "connection error") || strings.Contains(m, "transport:") || strings.Contains(m, "dial"):
				return fmt.Errorf("%s: the platform is not reachable (%s); is `vds up` running at the --server address?", step, m)
			default: // the platform answered: a service of it is unavailable, and says why
				return fmt.Errorf("%s: %s", step, m)
			}
		case codes.Unauthenticated:
			return fmt.Errorf("%s: not signed in (%s); check --api-key", step, s.Message())
		default:
			return fmt.Errorf("%s: %s", step, s.Message())
		}
	}
	return fmt.Errorf("%s: %w", step, err)
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
