package mesh

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestStopWithWorkInProgressIsQuickAndQuiet: Stop of a platform while a question is being answered
// (its model training running) and a client watches that training through the front door (as
// vds ask, vds analyze and the web app do) returns within 3 s and logs no warning or error (no NATS
// "connection lost": the services stop before the embedded NATS server). The services end their
// job watches, and the orchestrator its wait for the training, when they begin to stop, so neither
// their drain (10 s bound) nor the front door's (5 s) waits for them: Stop took 5.2 s before. The
// watcher and the asker are told the service is stopping (grpcx.IsStopping), and the question is
// kept in its conversation as not answered.
func TestStopWithWorkInProgressIsQuickAndQuiet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	var logs logging.SyncBuffer
	p, err := Up(ctx, Options{Home: home, Bootstrap: true, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up, err := c.UploadFile(ctx, p.Creds.ProjectID, shareddata.Dir()+"/tabular/iris.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
		t.Fatal(err)
	}
	cc, err := c.Orchestrator.CreateConversation(ctx, &orchestratorv1.CreateConversationRequest{ProjectId: p.Creds.ProjectID,
		Datasets: []*commonv1.DatasetRef{{DatasetId: up.DatasetId, Version: up.Version}}, Planner: "builtin"})
	if err != nil {
		t.Fatal(err)
	}
	question := "What drives species?"
	asking, err := c.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: cc.Conversation.Id, Text: question})
	if err != nil {
		t.Fatal(err)
	}
	askErr := make(chan error, 1)
	go func() {
		for {
			if _, err := asking.Recv(); err != nil {
				askErr <- err
				return
			}
		}
	}()
	// The question's training, once it runs (the orchestrator is then waiting for it).
	var training *jobsv1.Job
	for training == nil {
		select {
		case err := <-askErr:
			t.Fatalf("the question ended before its training ran: %v", err)
		case <-ctx.Done():
			t.Fatal("the question's training did not start")
		case <-time.After(100 * time.Millisecond):
		}
		l, err := c.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{ProjectId: p.Creds.ProjectID})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range l.Jobs {
			if j.Kind == "train" && j.State == jobsv1.JobState_JOB_STATE_RUNNING {
				training = j
			}
		}
	}
	watch, err := c.Jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: training.Id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	watchErr := make(chan error, 1)
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				watchErr <- err
				return
			}
		}
	}()

	logs.Write([]byte("--- Stop\n"))
	t0 := time.Now()
	err = p.Stop()
	stopped = true
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop with a question and a watch in progress took %v", took)
	if took > 3*time.Second {
		t.Errorf("Stop with a question and a watch in progress took %v, want under 3 s", took)
	}
	for what, ch := range map[string]chan error{"the watch": watchErr, "the question": askErr} {
		select {
		case err := <-ch:
			if !grpcx.IsStopping(err) {
				t.Errorf("%s ended with %v, want a Stopping error", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s did not end", what)
		}
	}
	time.Sleep(300 * time.Millisecond) // a late callback of a NATS close would log by now
	_, after, _ := strings.Cut(logs.String(), "--- Stop\n")
	for _, l := range strings.Split(after, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			t.Errorf("the orderly stop logged: %s", l)
		}
	}

	// The question was kept in its conversation, as not answered.
	p2, err := Up(ctx, Options{Home: home, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Stop()
	c2, err := client.Dial(ctx, p2.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: cc.Conversation.Id})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Conversation.Messages; len(m) != 2 || m[0].Text != question || !strings.HasPrefix(m[1].Text, "Not answered: the service stopped") {
		var texts []string
		for _, x := range m {
			texts = append(texts, x.Role+": "+x.Text)
		}
		t.Errorf("the conversation after the stop: %q", texts)
	}
	// Cancel the training taken up again by the new platform, so that it does not run on.
	if _, err := c2.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: training.Id}); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("cancel the training: %v", err)
	}
}
