package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/shareddata"
)

// sharedClient is a client of the test platform with its API key.
func sharedClient(t *testing.T) *client.Client {
	t.Helper()
	platform(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, shared.p.GRPCAddr, client.WithAPIKey(shared.p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// triggerWriter collects what is written and calls fire once when it contains trigger.
type triggerWriter struct {
	mu      sync.Mutex
	b       bytes.Buffer
	trigger string
	fire    func()
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.fire != nil && strings.Contains(w.b.String(), w.trigger) {
		w.fire()
		w.fire = nil
	}
	return n, err
}

func (w *triggerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Ctrl-C (the command's context cancelled) while vds analyze waits for its analysis job cancels that
// job on the server, says so with the job's ID, does not say "done", and exits 130.
func TestAnalyzeInterruptCancelsJob(t *testing.T) {
	home, addr := platform(t)
	c := sharedClient(t)
	file := shareddata.Path(t, "tabular/titanic.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	// The progress lines (not a terminal) show the analyse stage once the job was started.
	errw := &triggerWriter{trigger: "analyse", fire: func() { time.AfterFunc(300*time.Millisecond, interrupt) }}
	var out bytes.Buffer
	start := time.Now()
	code := run(runCtx, []string{"analyze", file, "--target", "survived", "--budget", "60s", "--server", addr, "--home", home}, &out, errw)
	errs := errw.String()
	if code != 130 {
		t.Fatalf("exit %d, want 130; stderr:\n%s", code, errs)
	}
	if strings.Contains(errs, "done in") || strings.Contains(errs, "context canceled") {
		t.Errorf("stderr says done or context canceled:\n%s", errs)
	}
	var jobID string
	for _, l := range strings.Split(errs, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "cancelled:" && f[1] == "job" && f[3] == "(analysis)" {
			jobID = f[2]
		}
	}
	if jobID == "" {
		t.Fatalf("stderr names no cancelled analysis job:\n%s", errs)
	}
	if el := time.Since(start); el > 45*time.Second {
		t.Errorf("interrupt took %s to return", el)
	}
	// The job is cancelled on the server (not left to run its 60 s budget), soon.
	var j *jobsv1.Job
	for deadline := time.Now().Add(10 * time.Second); ; {
		g, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: jobID})
		if err != nil {
			t.Fatal(err)
		}
		if j = g.Job; j.Kind != "analyze" || j.State == jobsv1.JobState_JOB_STATE_CANCELLED || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if j.Kind != "analyze" || j.State != jobsv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("job %s is %s %s, want a cancelled analyze job", jobID, j.Kind, j.State)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q after an interrupt", out.String())
	}
}

// Ctrl-C while the analysis trains: the training the analysis started is cancelled with it (by the
// orchestrator, which started it), and another training of the same project, started by someone
// else meanwhile, goes on (the CLI once cancelled every train and profile job of the project
// created after the analysis).
func TestAnalyzeInterruptCancelsItsTraining(t *testing.T) {
	home, addr := platform(t)
	c := sharedClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	up, err := c.UploadFile(ctx, shared.p.Creds.ProjectID, shareddata.Path(t, "tabular/mpg.csv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	var other string
	errw := &triggerWriter{trigger: "train and rank models", fire: func() {
		// A colleague's training in the same project, started after the analysis.
		st, err := c.ML.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, Target: "mpg", BudgetSeconds: 20, CvFolds: 3})
		if err != nil {
			t.Errorf("colleague's training: %v", err)
		} else {
			other = st.JobId
		}
		time.AfterFunc(500*time.Millisecond, interrupt)
	}}
	var out bytes.Buffer
	code := run(runCtx, []string{"analyze", shareddata.Path(t, "tabular/titanic.csv"), "--target", "survived", "--budget", "60s", "--server", addr, "--home", home}, &out, errw)
	if code != 130 || other == "" {
		t.Fatalf("exit %d (want 130), colleague's job %q; stderr:\n%s", code, other, errw.String())
	}
	// The analysis's own training: the train job of the project created after the analysis job,
	// other than the colleague's.
	var analysisJob string
	for _, l := range strings.Split(errw.String(), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "cancelled:" && f[3] == "(analysis)" {
			analysisJob = f[2]
		}
	}
	if analysisJob == "" {
		t.Fatalf("no cancelled analysis job named:\n%s", errw.String())
	}
	aj, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: analysisJob})
	if err != nil {
		t.Fatal(err)
	}
	var own *jobsv1.Job
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		l, err := c.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{ProjectId: shared.p.Creds.ProjectID, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		own = nil
		for _, j := range l.Jobs {
			if j.Kind == "train" && j.Id != other && !j.CreateTime.AsTime().Before(aj.Job.CreateTime.AsTime()) {
				own = j
			}
		}
		if own != nil && own.State == jobsv1.JobState_JOB_STATE_CANCELLED {
			break
		}
	}
	if own == nil || own.State != jobsv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("the analysis's training: %v, want cancelled", own)
	}
	// The analysis's own record says it was cancelled (it said "queued; watch job" for good).
	var rerr error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: aj.Job.ResultId})
		if rerr = err; err == nil {
			if !strings.Contains(r.Report.Error, "the analysis was cancelled (job "+analysisJob+")") {
				t.Errorf("the cancelled analysis's report error = %q", r.Report.Error)
			}
			break
		}
	}
	if rerr != nil {
		t.Errorf("the cancelled analysis's report: %v, want it to say it was cancelled", rerr)
	}
	// Its worker stops the search at its next progress report rather than spending the budget:
	// the training record says so.
	var tr *mlv1.Training
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		g, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: own.ResultId})
		if err != nil {
			t.Fatal(err)
		}
		if tr = g.Training; strings.Contains(tr.Error, "the training was cancelled") {
			break
		}
	}
	if !strings.Contains(tr.GetError(), "the training was cancelled (job "+own.Id+")") || tr.GetState() != mlv1.TrainingState_TRAINING_STATE_CANCELLED {
		t.Errorf("the cancelled training's record: %v, want it stopped as TRAINING_STATE_CANCELLED", tr)
	}
	oj, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: other})
	if err != nil {
		t.Fatal(err)
	}
	if oj.Job.State == jobsv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("the colleague's training %s was cancelled by someone else's Ctrl-C", other)
	}
	_, _ = c.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: other}) // not needed any more
}

// vds ask --conversation C DATASET refuses a dataset other than C's (by ID or as a file) before
// sending the question, and proceeds when DATASET is C's own.
func TestAskConversationOtherDataset(t *testing.T) {
	home, addr := platform(t)
	c := sharedClient(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	iris := shareddata.Path(t, "tabular/iris.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up, err := c.UploadFile(ctx, shared.p.Creds.ProjectID, iris, nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := cli(t, time.Minute, "ask", tips, "How many rows are there?", "--format", "json", "--quiet", "--server", addr, "--home", home, "--planner", "builtin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	conv := between(out, `"conversation_id": "`, `"`)
	gc, err := c.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: conv})
	if err != nil {
		t.Fatal(err)
	}
	tipsID := gc.Conversation.Datasets[0].DatasetId
	before := len(gc.Conversation.Messages)
	countDatasets := func() int {
		l, err := c.Datasets.ListDatasets(ctx, &datasetsv1.ListDatasetsRequest{ProjectId: shared.p.Creds.ProjectID, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Datasets)
	}
	datasetsBefore := countDatasets()
	// A file never uploaded (healthexp.csv) is compared by its bytes, not uploaded.
	for _, arg := range []string{up.DatasetId, iris, shareddata.Path(t, "tabular/healthexp.csv")} {
		code, out, errs = cli(t, time.Minute, "ask", "--conversation", conv, arg, "How many rows are there?", "--server", addr, "--home", home)
		want := "conversation " + conv + " is about dataset " + tipsID + " (tips.csv); to ask about " + arg
		if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, "start a new conversation (omit --conversation)") || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 with %q", arg, code, out, errs, want)
		}
	}
	gc, err = c.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: conv})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gc.Conversation.Messages); n != before {
		t.Errorf("the refused questions were sent: %d messages, was %d", n, before)
	}
	if n := countDatasets(); n != datasetsBefore {
		t.Errorf("refusing the questions made datasets: %d, was %d", n, datasetsBefore)
	}
	// The conversation's own dataset, by ID and as the same file (re-uploaded: the same dataset), is asked.
	// pandas: len(tips) = 244
	for _, arg := range []string{tipsID, tips} {
		code, out, errs = cli(t, time.Minute, "ask", "--conversation", conv, arg, "How many rows are there?", "--server", addr, "--home", home, "--quiet")
		if code != 0 || !strings.Contains(out, "244") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want the answer 244", arg, code, out, errs)
		}
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// Ctrl-C while vds ask streams the answer exits 130 naming the conversation, not "ask: context canceled".
func TestAskInterrupt(t *testing.T) {
	home, addr := platform(t)
	file := shareddata.Path(t, "tabular/tips.csv")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	errw := &triggerWriter{trigger: "conversation cnv_", fire: interrupt}
	var out bytes.Buffer
	code := run(runCtx, []string{"ask", file, "What is the average tip by day?", "--server", addr, "--home", home, "--planner", "builtin"}, &out, errw)
	errs := errw.String()
	if code != 130 || !strings.Contains(errs, "vds: interrupted; the question was not answered (conversation cnv_") ||
		strings.Contains(errs, "context canceled") || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errs)
	}
}

// Ctrl-C on vds ask while the answer trains a model: the orchestrator cancels the train job it
// started for the question (the client's stream ended) rather than letting it run to SUCCEEDED for
// an answer nobody reads, as vds analyze's interrupt cancels its training.
func TestAskInterruptCancelsItsTraining(t *testing.T) {
	home, addr := platform(t)
	c := sharedClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	start := time.Now().Add(-time.Second)
	var mu sync.Mutex
	own := ""
	// The question's training: a train job of Churn created after the question was sent; Ctrl-C
	// as soon as it is there.
	go func() {
		for runCtx.Err() == nil {
			l, err := c.Jobs.ListJobs(runCtx, &jobsv1.ListJobsRequest{ProjectId: shared.p.Creds.ProjectID, PageSize: 100})
			if err == nil {
				for _, j := range l.Jobs {
					if j.Kind != "train" || j.CreateTime.AsTime().Before(start) || j.ResultId == "" {
						continue
					}
					if g, err := c.ML.GetTraining(runCtx, &mlv1.GetTrainingRequest{TrainingId: j.ResultId}); err == nil && g.Training.Target == "Churn" {
						mu.Lock()
						own = j.Id
						mu.Unlock()
						time.AfterFunc(300*time.Millisecond, interrupt)
						return
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var out, errb bytes.Buffer
	code := run(runCtx, []string{"ask", shareddata.Path(t, "tabular/telco_churn.csv"), "Why is churn high?", "--server", addr, "--home", home, "--planner", "builtin", "--quiet"}, &out, &errb)
	mu.Lock()
	jobID := own
	mu.Unlock()
	if code != 130 || jobID == "" {
		t.Fatalf("exit %d (want 130), the question's train job %q; stderr:\n%s", code, jobID, errb.String())
	}
	var j *jobsv1.Job
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		g, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: jobID})
		if err != nil {
			t.Fatal(err)
		}
		if j = g.Job; j.State == jobsv1.JobState_JOB_STATE_CANCELLED || time.Now().After(deadline) {
			break
		}
	}
	if j.State != jobsv1.JobState_JOB_STATE_CANCELLED {
		t.Fatalf("the question's train job %s is %s after the interrupt, want JOB_STATE_CANCELLED", jobID, j.State)
	}
}
