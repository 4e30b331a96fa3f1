//go:build duckdb_arrow

package server_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/mesh"
)

// TestProfilingService runs the whole mesh in-process (real gRPC over loopback, embedded NATS,
// SQLite) and drives the profiling service as a client would: upload and ingest penguins, see it
// profiled automatically after ingest, profile it with a target as a job, read the profile, test
// hypotheses, and check the errors and the cache.
func TestProfilingService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	plat, c, up := meshWithFile(ctx, t, "tabular/penguins.csv")
	ref := &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}

	// The version is profiled automatically once its ingest job succeeds: a profile job appears
	// in the project without any StartProfile call, and StartProfile then finds it in the cache.
	var auto *jobsv1.Job
	for deadline := time.Now().Add(90 * time.Second); auto == nil && time.Now().Before(deadline); {
		js, err := c.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{ProjectId: plat.Creds.ProjectID})
		if err != nil {
			t.Fatalf("list jobs: %v", err)
		}
		for _, j := range js.Jobs {
			if j.Kind == "profile" {
				auto = j
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if auto == nil {
		t.Fatal("no profile job started after the ingest job succeeded")
	}
	if job, err := c.WaitJob(ctx, auto.Id, nil); err != nil || job.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("automatic profile job %v: %v", job, err)
	}
	cached, err := c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: ref})
	if err != nil || !cached.Cached || cached.ProfileId != auto.ResultId || cached.JobId != auto.Id {
		t.Fatalf("StartProfile after the automatic profile: %v %v (automatic job %s for %s)", cached, err, auto.Id, auto.ResultId)
	}
	ap, err := c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: auto.ResultId})
	if err != nil {
		t.Fatalf("get the automatic profile: %v", err)
	}
	if ap.Profile.RowCount != 344 || ap.Profile.ColumnCount != 7 || ap.Profile.Target != "" ||
		ap.Profile.Dataset.GetDatasetId() != up.DatasetId || ap.Profile.Dataset.GetVersion() != up.Version {
		t.Errorf("automatic profile: %d x %d target %q of %v", ap.Profile.RowCount, ap.Profile.ColumnCount, ap.Profile.Target, ap.Profile.Dataset)
	}

	// Errors first: unknown target, malformed and unknown profile IDs.
	_, err = c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: ref, Target: "no_such_column"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "target") {
		t.Errorf("unknown target: %v", err)
	}
	_, err = c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: "../etc/passwd"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed profile ID: %v", err)
	}
	_, err = c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: ids.New(ids.Profile)})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown profile ID: %v", err)
	}

	st, err := c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: ref, Target: "species"})
	if err != nil {
		t.Fatalf("start profile: %v", err)
	}
	if err := ids.Check(st.ProfileId, ids.Profile); err != nil {
		t.Errorf("profile ID: %v", err)
	}
	job, err := c.WaitJob(ctx, st.JobId, nil)
	if err != nil || job.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("profile job %v: %v", job, err)
	}
	gp, err := c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: st.ProfileId})
	if err != nil {
		t.Fatalf("get profile: %v", err)
	}
	p := gp.Profile
	if p.RowCount != 344 || p.ColumnCount != 7 || p.Target != "species" {
		t.Errorf("profile %d x %d target %q", p.RowCount, p.ColumnCount, p.Target)
	}
	multimodal := false
	for _, col := range p.Columns {
		if (col.Name == "flipper_length_mm" || col.Name == "body_mass_g") && col.GetNumeric().GetMultimodal() {
			multimodal = true
		}
	}
	if !multimodal {
		t.Error("neither flipper_length_mm nor body_mass_g is multimodal")
	}

	// Computed once per dataset version: asking again returns the same profile from the cache.
	again, err := c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: ref, Target: "species"})
	if err != nil || !again.Cached || again.ProfileId != st.ProfileId {
		t.Errorf("second start: %v cached=%v id %s vs %s", err, again.GetCached(), again.GetProfileId(), st.ProfileId)
	}

	_, err = c.Profiling.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: st.ProfileId, Fdr: 2})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "fdr") {
		t.Errorf("fdr 2: %v", err)
	}
	hr, err := c.Profiling.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: st.ProfileId})
	if err != nil {
		t.Fatalf("hypotheses: %v", err)
	}
	survivors := 0
	found := map[string]bool{}
	for _, h := range hr.Hypotheses {
		if err := ids.Check(h.Id, "hyp"); err != nil {
			t.Errorf("hypothesis ID: %v", err)
		}
		if !h.Survived {
			continue
		}
		survivors++
		if h.QValue > 0.05 || h.Query == "" || h.Chart == nil || ids.Check(h.Chart.Id, ids.Chart) != nil {
			t.Errorf("survivor %s: q %v query %q chart %v", h.Statement, h.QValue, h.Query, h.Chart)
		}
		if slices.Contains(h.Columns, "species") {
			for _, col := range h.Columns {
				found[col] = true
			}
		}
	}
	if len(hr.Findings) != survivors {
		t.Errorf("%d findings for %d survivors", len(hr.Findings), survivors)
	}
	for _, col := range []string{"body_mass_g", "flipper_length_mm", "bill_length_mm"} {
		if !found[col] {
			t.Errorf("no species difference found for %s", col)
		}
	}
	for _, fd := range hr.Findings {
		if ids.Check(fd.Id, ids.Finding) != nil || !strings.Contains(fd.Statement, "n = ") || !strings.Contains(fd.Query, "FROM data") {
			t.Errorf("finding %v", fd)
		}
	}
}

// TestBooleanGroupsNamedAsInFile: telco's Churn is Yes/No in the file and read as boolean; the
// hypotheses and findings name its groups "Churn = Yes" / "Churn = No" (the version's
// ReadRules.boolean_labels), not "Churn = 1" / "Churn = 0" as the 0/1 frame values would.
func TestBooleanGroupsNamedAsInFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, c, up := meshWithFile(ctx, t, "tabular/telco_churn.csv")
	st, err := c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, Target: "Churn"})
	if err != nil {
		t.Fatalf("start profile: %v", err)
	}
	if st.JobId != "" {
		if job, err := c.WaitJob(ctx, st.JobId, nil); err != nil || job.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("profile job: %v %v", job, err)
		}
	}
	hr, err := c.Profiling.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: st.ProfileId})
	if err != nil {
		t.Fatalf("hypotheses: %v", err)
	}
	var tenure *profilingv1.Hypothesis
	for _, h := range hr.Hypotheses {
		if slices.Equal(h.Columns, []string{"Churn", "tenure"}) {
			tenure = h
		}
		for _, bad := range []string{"Churn = 0", "Churn = 1", "Churn = true", "Churn = false"} {
			if strings.Contains(h.Statement, bad) {
				t.Errorf("hypothesis names a group %q: %s", bad, h.Statement)
			}
		}
	}
	if tenure == nil {
		t.Fatal("Churn vs tenure not tested")
	}
	if !slices.Equal(tenure.GroupLabels, []string{"No", "Yes"}) || !slices.Equal(tenure.GroupSizes, []int64{5174, 1869}) {
		t.Errorf("Churn groups %v %v, want [No Yes] [5174 1869]", tenure.GroupLabels, tenure.GroupSizes)
	}
	want := "Rows with Churn = No have a median tenure of 38 vs 10 for Churn = Yes ("
	if !strings.HasPrefix(tenure.Statement, want) {
		t.Errorf("statement %q, want it to start %q", tenure.Statement, want)
	}
	named := false
	for _, fd := range hr.Findings {
		if strings.Contains(fd.Statement, "Churn = 0") || strings.Contains(fd.Statement, "Churn = 1") {
			t.Errorf("finding names a 0/1 group: %s", fd.Statement)
		}
		if strings.HasPrefix(fd.Statement, want) {
			named = true
			if fd.Values["n_Yes"] != 1869 || fd.Values["n_No"] != 5174 {
				t.Errorf("finding values %v, want n_Yes 1869 and n_No 5174", fd.Values)
			}
		}
	}
	if !named {
		t.Errorf("no finding states %q…", want)
	}
}

// meshWithFile starts the whole mesh (stopped when the test ends), connects a client with the
// bootstrap API key and uploads a shared file, waiting for its ingest.
func meshWithFile(ctx context.Context, t *testing.T, rel string) (*mesh.Platform, *client.Client, *datasetsv1.UploadResponse) {
	t.Helper()
	plat, err := mesh.Up(ctx, mesh.Options{Home: t.TempDir(), Bootstrap: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start the mesh: %v", err)
	}
	t.Cleanup(func() { plat.Stop() })
	c, err := client.Dial(ctx, plat.GRPCAddr, client.WithAPIKey(plat.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	up, err := c.UploadFile(ctx, plat.Creds.ProjectID, shareddata.Path(t, rel), nil)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	return plat, c, up
}
