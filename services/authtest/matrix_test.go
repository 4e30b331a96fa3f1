package authtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
)

// access is what an RPC needs in the resource's project.
type access int

const (
	read   access = iota // viewer
	write                // editor
	manage               // owner
)

// env is what a case may name: the owner's resources and project, and the acting user's own project.
type env struct {
	o         owned
	aProject  string
	ownProj   string
	selfEmail string
	aUserID   string
}

type rpcCase struct {
	method string
	need   access
	call   func(ctx context.Context, c *client.Client, e env) error
}

// drain reads a server stream to its end and returns its status.
func drain(err error, recv func() error) error {
	if err != nil {
		return err
	}
	for {
		if err := recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func ref(e env) *commonv1.DatasetRef { return &commonv1.DatasetRef{DatasetId: e.o.dataset} }

func query(e env) []byte {
	b, _ := proto.Marshal(&datasetsv1.DatasetQuery{DatasetId: e.o.dataset, Limit: 5})
	return b
}

// cases lists every RPC that takes a resource (or project) ID, with the access it needs.
func cases() []rpcCase {
	return []rpcCase{
		// ingestion
		{datasetsv1.DatasetService_GetDataset_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: e.o.dataset})
			return err
		}},
		{datasetsv1.DatasetService_ListDatasets_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.ListDatasets(ctx, &datasetsv1.ListDatasetsRequest{ProjectId: e.aProject})
			return err
		}},
		{datasetsv1.DatasetService_GetVersion_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: e.o.dataset, Version: e.o.version})
			return err
		}},
		{datasetsv1.DatasetService_ListVersions_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.ListVersions(ctx, &datasetsv1.ListVersionsRequest{DatasetId: e.o.dataset})
			return err
		}},
		{datasetsv1.DatasetService_Preview_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.Preview(ctx, &datasetsv1.PreviewRequest{DatasetId: e.o.dataset, Limit: 5})
			return err
		}},
		{datasetsv1.DatasetService_Upload_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Upload(ctx, &datasetsv1.UploadMetadata{ProjectId: e.aProject, FileName: "intruder.csv"}, bytes.NewReader([]byte("a,b\n1,2\n")), nil)
			return err
		}},
		{datasetsv1.DatasetService_Upload_FullMethodName + " (new version)", write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Upload(ctx, &datasetsv1.UploadMetadata{ProjectId: e.aProject, DatasetId: e.o.dataset, FileName: "v2.csv"}, bytes.NewReader([]byte("a,b\n3,4\n")), nil)
			return err
		}},
		{datasetsv1.DatasetService_DeleteDataset_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Datasets.DeleteDataset(ctx, &datasetsv1.DeleteDatasetRequest{DatasetId: e.o.dataset})
			return err
		}},
		{"/arrow.flight.protocol.FlightService/DoGet", read, func(ctx context.Context, c *client.Client, e env) error {
			s, err := c.Flight.DoGet(ctx, &flight.Ticket{Ticket: query(e)})
			return drain(err, func() error { _, err := s.Recv(); return err })
		}},
		{"/arrow.flight.protocol.FlightService/DoPut", write, func(ctx context.Context, c *client.Client, e env) error {
			return doPut(ctx, c, &datasetsv1.FlightPutCommand{ProjectId: e.aProject, Name: "intruder"})
		}},
		{"/arrow.flight.protocol.FlightService/GetFlightInfo", read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Flight.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: query(e)})
			return err
		}},
		// jobs and lineage (served by every service)
		{jobsv1.JobService_GetJob_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Jobs.GetJob(ctx, &jobsv1.GetJobRequest{JobId: e.o.ingestJob})
			return err
		}},
		{jobsv1.JobService_ListJobs_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Jobs.ListJobs(ctx, &jobsv1.ListJobsRequest{ProjectId: e.aProject})
			return err
		}},
		{jobsv1.JobService_WatchJob_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			s, err := c.Jobs.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: e.o.ingestJob})
			return drain(err, func() error { _, err := s.Recv(); return err })
		}},
		{jobsv1.JobService_CancelJob_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: e.o.analysisJob})
			return err
		}},
		{lineagev1.LineageService_GetLineage_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Lineage.GetLineage(ctx, &lineagev1.GetLineageRequest{ArtifactId: e.o.model})
			return err
		}},
		// profiling
		{profilingv1.ProfilingService_StartProfile_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Profiling.StartProfile(ctx, &profilingv1.StartProfileRequest{Dataset: ref(e), Target: "y"})
			return err
		}},
		{profilingv1.ProfilingService_GetProfile_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Profiling.GetProfile(ctx, &profilingv1.GetProfileRequest{ProfileId: e.o.profile})
			return err
		}},
		{profilingv1.ProfilingService_GenerateHypotheses_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Profiling.GenerateHypotheses(ctx, &profilingv1.GenerateHypothesesRequest{ProfileId: e.o.profile, Target: "y"})
			return err
		}},
		// ml
		{mlv1.MLService_StartTraining_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: ref(e), Target: "y", BudgetSeconds: 1})
			return err
		}},
		{mlv1.MLService_GetTraining_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: e.o.training})
			return err
		}},
		{mlv1.MLService_Leaderboard_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.Leaderboard(ctx, &mlv1.LeaderboardRequest{TrainingId: e.o.training})
			return err
		}},
		{mlv1.MLService_GetModel_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.GetModel(ctx, &mlv1.GetModelRequest{ModelId: e.o.model})
			return err
		}},
		{mlv1.MLService_ListModels_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.ListModels(ctx, &mlv1.ListModelsRequest{ProjectId: e.aProject})
			return err
		}},
		{mlv1.MLService_Predict_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: e.o.model, Rows: []*mlv1.Row{{Values: map[string]string{"x1": "0.5", "x2": "0.1", "seg": "a", "tr": "1", "month": "2"}}}})
			return err
		}},
		{mlv1.MLService_BatchPredict_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.BatchPredict(ctx, &mlv1.BatchPredictRequest{ModelId: e.o.model, Dataset: ref(e)})
			return err
		}},
		{mlv1.MLService_Explain_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.Explain(ctx, &mlv1.ExplainRequest{ModelId: e.o.model})
			return err
		}},
		{mlv1.MLService_Export_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.Export(ctx, &mlv1.ExportRequest{ModelId: e.o.model, Format: "onnx"})
			return err
		}},
		{mlv1.MLService_Segment_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.ML.Segment(ctx, &mlv1.SegmentRequest{Dataset: ref(e), Columns: []string{"x1", "x2"}, K: 2})
			return err
		}},
		// causal
		{causalv1.CausalService_EstimateEffect_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.EstimateEffect(ctx, &causalv1.EstimateEffectRequest{Dataset: ref(e), Treatment: "tr", Outcome: "y", Confounders: []string{"x1"}})
			return err
		}},
		{causalv1.CausalService_GetEstimate_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.GetEstimate(ctx, &causalv1.GetEstimateRequest{EstimateId: e.o.estimate})
			return err
		}},
		{causalv1.CausalService_DiscoverGraph_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.DiscoverGraph(ctx, &causalv1.DiscoverGraphRequest{Dataset: ref(e), Columns: []string{"x1", "tr", "y"}})
			return err
		}},
		{causalv1.CausalService_ExplainChange_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.ExplainChange(ctx, &causalv1.ExplainChangeRequest{Dataset: ref(e), Outcome: "y", TimeColumn: "month", Segments: []string{"seg"}})
			return err
		}},
		{causalv1.CausalService_SaveGraph_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.SaveGraph(ctx, &causalv1.SaveGraphRequest{Dataset: ref(e), GraphId: e.o.graph, Text: "x2 -> tr\ntr -> y"})
			return err
		}},
		{causalv1.CausalService_GetGraph_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Causal.GetGraph(ctx, &causalv1.GetGraphRequest{GraphId: e.o.graph})
			return err
		}},
		// sandbox
		{sandboxv1.SandboxService_Execute_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			s, err := c.Sandbox.Execute(ctx, &sandboxv1.ExecuteRequest{ProjectId: e.aProject, Language: sandboxv1.Language_LANGUAGE_SQL, Code: "SELECT 1", Inputs: []*sandboxv1.Input{{Dataset: ref(e)}}})
			return drain(err, func() error { _, err := s.Recv(); return err })
		}},
		{sandboxv1.SandboxService_GetExecution_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: e.o.execution})
			return err
		}},
		// orchestrator
		{orchestratorv1.OrchestratorService_StartAnalysis_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.StartAnalysis(ctx, &orchestratorv1.StartAnalysisRequest{Dataset: ref(e), Target: "y", BudgetSeconds: 1})
			return err
		}},
		{orchestratorv1.OrchestratorService_GetAnalysisReport_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.GetAnalysisReport(ctx, &orchestratorv1.GetAnalysisReportRequest{AnalysisId: e.o.analysis})
			return err
		}},
		{orchestratorv1.OrchestratorService_CreateConversation_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.CreateConversation(ctx, &orchestratorv1.CreateConversationRequest{ProjectId: e.aProject, Datasets: []*commonv1.DatasetRef{ref(e)}})
			return err
		}},
		{orchestratorv1.OrchestratorService_GetConversation_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: e.o.conversation})
			return err
		}},
		{orchestratorv1.OrchestratorService_ListConversations_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.ListConversations(ctx, &orchestratorv1.ListConversationsRequest{ProjectId: e.aProject})
			return err
		}},
		{orchestratorv1.OrchestratorService_SendMessage_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			s, err := c.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: e.o.conversation, Text: "what drives y?"})
			return drain(err, func() error { _, err := s.Recv(); return err })
		}},
		{orchestratorv1.OrchestratorService_GetReport_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.GetReport(ctx, &orchestratorv1.GetReportRequest{ConversationId: e.o.conversation, Format: "markdown"})
			return err
		}},
		{orchestratorv1.OrchestratorService_ProposeDashboard_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.ProposeDashboard(ctx, &orchestratorv1.ProposeDashboardRequest{Dataset: ref(e)})
			return err
		}},
		// auth
		{authv1.AuthService_GetProject_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.GetProject(ctx, &authv1.GetProjectRequest{ProjectId: e.aProject})
			return err
		}},
		{authv1.AuthService_ListMembers_FullMethodName, read, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.ListMembers(ctx, &authv1.ListMembersRequest{ProjectId: e.aProject})
			return err
		}},
		{authv1.AuthService_CreateApiKey_FullMethodName, write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{ProjectId: e.aProject, Name: "intruder", Scope: authv1.Scope_SCOPE_READ})
			return err
		}},
		{authv1.AuthService_ListApiKeys_FullMethodName, manage, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.ListApiKeys(ctx, &authv1.ListApiKeysRequest{ProjectId: e.aProject})
			return err
		}},
		{authv1.AuthService_RevokeApiKey_FullMethodName, manage, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.RevokeApiKey(ctx, &authv1.RevokeApiKeyRequest{ApiKeyId: e.o.apiKey})
			return err
		}},
		{authv1.AuthService_AddMember_FullMethodName, manage, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.AddMember(ctx, &authv1.AddMemberRequest{ProjectId: e.aProject, Email: e.selfEmail, Role: authv1.Role_ROLE_OWNER})
			return err
		}},
		{authv1.AuthService_RemoveMember_FullMethodName, manage, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.RemoveMember(ctx, &authv1.RemoveMemberRequest{ProjectId: e.aProject, UserId: e.aUserID})
			return err
		}},
		{authv1.AuthService_ListAuditEvents_FullMethodName, manage, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Auth.ListAuditEvents(ctx, &authv1.ListAuditEventsRequest{ProjectId: e.aProject})
			return err
		}},
	}
}

// strangerCases reach A's dataset from the stranger's own project: a cross-project reference.
func strangerCases() []rpcCase {
	return []rpcCase{
		{sandboxv1.SandboxService_Execute_FullMethodName + " (own project, A's input)", write, func(ctx context.Context, c *client.Client, e env) error {
			s, err := c.Sandbox.Execute(ctx, &sandboxv1.ExecuteRequest{ProjectId: e.ownProj, Language: sandboxv1.Language_LANGUAGE_SQL, Code: "SELECT * FROM data", Inputs: []*sandboxv1.Input{{Dataset: ref(e)}}})
			return drain(err, func() error { _, err := s.Recv(); return err })
		}},
		{"/arrow.flight.protocol.FlightService/DoPut (own project, A's dataset)", write, func(ctx context.Context, c *client.Client, e env) error {
			return doPut(ctx, c, &datasetsv1.FlightPutCommand{ProjectId: e.ownProj, DatasetId: e.o.dataset})
		}},
		{causalv1.CausalService_SaveGraph_FullMethodName + " (own dataset, A's graph)", write, func(ctx context.Context, c *client.Client, e env) error {
			own, err := c.Upload(ctx, &datasetsv1.UploadMetadata{ProjectId: e.ownProj, FileName: "mine.csv"}, bytes.NewReader([]byte("x2,y\n1,2\n3,4\n")), nil)
			if err != nil {
				return err
			}
			if _, err := c.WaitJob(ctx, own.JobId, nil); err != nil {
				return err
			}
			_, err = c.Causal.SaveGraph(ctx, &causalv1.SaveGraphRequest{Dataset: &commonv1.DatasetRef{DatasetId: own.DatasetId}, GraphId: e.o.graph, Text: "x2 -> y"})
			return err
		}},
		{datasetsv1.DatasetService_Upload_FullMethodName + " (own project, A's dataset)", write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Upload(ctx, &datasetsv1.UploadMetadata{ProjectId: e.ownProj, DatasetId: e.o.dataset, FileName: "v2.csv"}, bytes.NewReader([]byte("a,b\n3,4\n")), nil)
			return err
		}},
		{orchestratorv1.OrchestratorService_CreateConversation_FullMethodName + " (own project, A's dataset)", write, func(ctx context.Context, c *client.Client, e env) error {
			_, err := c.Orchestrator.CreateConversation(ctx, &orchestratorv1.CreateConversationRequest{ProjectId: e.ownProj, Datasets: []*commonv1.DatasetRef{ref(e)}})
			return err
		}},
	}
}

// noResource are the methods that take no resource ID (identity comes from the credential alone) or
// that this matrix reaches another way.
var noResource = map[string]string{
	authv1.AuthService_Register_FullMethodName:       "public",
	authv1.AuthService_Login_FullMethodName:          "public",
	authv1.AuthService_Refresh_FullMethodName:        "public (the refresh token is the credential)",
	authv1.AuthService_GetPublicKeys_FullMethodName:  "public",
	authv1.AuthService_Logout_FullMethodName:         "own session only (TestCredentials)",
	authv1.AuthService_WhoAmI_FullMethodName:         "own identity",
	authv1.AuthService_ChangePassword_FullMethodName: "own account",
	authv1.AuthService_CreateProject_FullMethodName:  "new project",
	authv1.AuthService_ListProjects_FullMethodName:   "own projects",
	// Artifacts come only from Python executions (bubblewrap); the fixture's execution is SQL.
	sandboxv1.SandboxService_GetArtifact_FullMethodName: "artifacts of Python executions: services/sandbox TestTipsGroupBy checks a stranger gets NotFound",
}

// TestMatrixCoversEveryRPC fails when an RPC is added to a service without a row in the matrix.
func TestMatrixCoversEveryRPC(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range append(cases(), strangerCases()...) {
		covered[strings.Fields(c.method)[0]] = true
	}
	var missing []string
	for _, sd := range []grpc.ServiceDesc{authv1.AuthService_ServiceDesc, datasetsv1.DatasetService_ServiceDesc, jobsv1.JobService_ServiceDesc,
		lineagev1.LineageService_ServiceDesc, profilingv1.ProfilingService_ServiceDesc, mlv1.MLService_ServiceDesc, causalv1.CausalService_ServiceDesc,
		sandboxv1.SandboxService_ServiceDesc, orchestratorv1.OrchestratorService_ServiceDesc} {
		var names []string
		for _, m := range sd.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range sd.Streams {
			names = append(names, s.StreamName)
		}
		for _, n := range names {
			full := "/" + sd.ServiceName + "/" + n
			if !covered[full] && noResource[full] == "" {
				missing = append(missing, full)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("RPCs with no row in the cross-tenant matrix: %v", missing)
	}
}

// doPut sends one record batch over Flight DoPut with cmd as the descriptor and returns the status.
func doPut(ctx context.Context, c *client.Client, cmd *datasetsv1.FlightPutCommand) error {
	stream, err := c.Flight.DoPut(ctx)
	if err != nil {
		return err
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	body, _ := proto.Marshal(cmd)
	w := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: body})
	werr := w.Write(rec)
	if werr == nil {
		werr = w.Close()
	}
	_ = stream.CloseSend()
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if werr != nil && !errors.Is(werr, io.EOF) {
				return werr
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// outcome classifies a call's error.
func outcome(err error) codes.Code { return status.Code(err) }
