package server

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/storage"
)

// JobBatchPredict is the job kind of BatchPredict.
const JobBatchPredict = "batch_predict"

// BatchPredict queues a job that scores every row of a dataset version with a model and saves the
// rows with their predictions as a new dataset (through the ingestion service, as the sandbox saves
// tables), with lineage from the input version and the model. The job's result_id is the new
// dataset's ID once it is written. The caller must be able to view the model and edit the dataset's
// project (the output is written there).
func (s *Server) BatchPredict(ctx context.Context, req *mlv1.BatchPredictRequest) (*mlv1.BatchPredictResponse, error) {
	m, err := s.modelRecord(ctx, req.ModelId, storage.RoleViewer)
	if err != nil {
		return nil, err
	}
	ds, ver, err := s.rt.DatasetVersion(ctx, req.Dataset)
	if err != nil {
		return nil, err
	}
	if _, err := grpcx.Authorize(ctx, s.rt.Store, ds.ProjectId, storage.RoleEditor, "dataset", ds.Id); err != nil {
		return nil, err
	}
	// The model must find at least one of its columns, or every row would score as all-missing.
	found := false
	for _, f := range m.Features {
		for _, c := range ver.Columns {
			found = found || c.Name == f
		}
	}
	if !found {
		return nil, grpcx.FailedPrecondition("dataset %s v%d has none of the columns model %s reads (%s)", ds.Id, ver.Version, m.Id, strings.Join(m.Features, ", "))
	}
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	task := &mlv1.BatchPredictTask{ModelId: m.Id, Dataset: &commonv1.DatasetRef{DatasetId: ds.Id, Version: ver.Version}, UserId: who.UserID, ProjectId: ds.ProjectId}
	j, err := s.rt.Queue.Submit(ctx, &jobsv1.Job{ProjectId: ds.ProjectId, Kind: JobBatchPredict}, task)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "queue batch prediction")
	}
	return &mlv1.BatchPredictResponse{JobId: j.Id}, nil
}

// predictionColumns names the output columns of a model: the predicted label or value, then one
// probability per class, each made unique against the input's columns.
func predictionColumns(lm *learn.Model, taken map[string]bool) (label string, proba []string) {
	unique := func(name string) string {
		out := name
		for i := 2; taken[out]; i++ {
			out = fmt.Sprintf("%s_%d", name, i)
		}
		taken[out] = true
		return out
	}
	label = unique("predicted_" + lm.Target())
	if lm.Task() != learn.TaskRegression {
		for _, c := range lm.Classes() {
			proba = append(proba, unique("probability_"+c))
		}
	}
	return label, proba
}

func (s *Server) batchPredict(ctx context.Context, t *jobs.Task) error {
	task := &mlv1.BatchPredictTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
	if err != nil {
		return err
	}
	r, err := s.rt.Store.GetResource(ctx, KindModel, task.ModelId)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("model %s: %w", task.ModelId, err))
	}
	m := &mlv1.Model{}
	if err := proto.Unmarshal(r.Data, m); err != nil {
		return jobs.Permanent(err)
	}
	// The signature is checked before any byte of the artifact is parsed.
	lm, err := s.loadModel(ctx, m)
	if err != nil {
		return jobs.Permanent(err)
	}
	if err := t.Progress(ctx, 0.05, "reading data", ""); err != nil {
		return err
	}
	conn, err := s.rt.Peer("ingestion")
	if err != nil {
		return err
	}
	rdr, err := client.DoGet(grpcx.Forward(uctx), flight.NewFlightServiceClient(conn), &datasetsv1.DatasetQuery{DatasetId: task.Dataset.DatasetId, Version: task.Dataset.Version})
	if err != nil {
		return fmt.Errorf("read %s v%d over Flight: %w", task.Dataset.DatasetId, task.Dataset.Version, err)
	}
	defer rdr.Release()
	in := rdr.Schema()
	taken := map[string]bool{}
	for _, f := range in.Fields() {
		taken[f.Name] = true
	}
	labelCol, probaCols := predictionColumns(lm, taken)
	fields := append([]arrow.Field(nil), in.Fields()...)
	if lm.Task() == learn.TaskRegression {
		fields = append(fields, arrow.Field{Name: labelCol, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	} else {
		fields = append(fields, arrow.Field{Name: labelCol, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	for _, p := range probaCols {
		fields = append(fields, arrow.Field{Name: p, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	out := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(out, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	rows := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec2, err := withPredictions(lm, in, out, rec)
		if err != nil {
			return jobs.Permanent(err)
		}
		err = w.WriteBuffered(rec2)
		rec2.Release()
		if err != nil {
			return err
		}
		rows += int(rec.NumRows())
	}
	if err := rdr.Err(); err != nil {
		return fmt.Errorf("read %s v%d over Flight: %w", task.Dataset.DatasetId, task.Dataset.Version, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := t.Progress(ctx, 0.7, "saving predictions", plural.Count(rows, "row")); err != nil {
		return err
	}
	name := fmt.Sprintf("predictions-%s-%s.parquet", strings.TrimPrefix(task.Dataset.DatasetId, ids.Dataset+"_")[:8], strings.TrimPrefix(m.Id, ids.Model+"_")[:8])
	up, err := s.rt.UploadTable(grpcx.Forward(uctx), task.ProjectId, name, buf.Bytes())
	if err != nil {
		return fmt.Errorf("save predictions: %w", err)
	}
	if up.JobId != "" {
		j, err := s.rt.Queue.Wait(ctx, up.JobId)
		if err != nil {
			return err
		}
		if j.State != jobsv1.JobState_JOB_STATE_SUCCEEDED {
			return jobs.Permanent(fmt.Errorf("the predictions could not be ingested: %s", j.Error))
		}
	}
	vid := fmt.Sprintf("%s.v%d", up.DatasetId, up.Version)
	_ = lineage.Record(context.WithoutCancel(ctx), s.rt.Store, &lineagev1.Artifact{Id: vid, Kind: "dataset_version", ProjectId: task.ProjectId,
		Label: fmt.Sprintf("%s: %s predictions of %s", name, m.Algorithm, m.Target)},
		[]string{fmt.Sprintf("%s.v%d", task.Dataset.DatasetId, task.Dataset.Version), m.Id}, "batch_predict",
		map[string]string{"model": m.Id, "rows": fmt.Sprint(rows), "prediction_column": labelCol})
	if err := t.Progress(ctx, 0.98, "done", fmt.Sprintf("wrote %s to %s version %d", plural.Count(rows, "row"), up.DatasetId, up.Version)); err != nil {
		return err
	}
	return t.SetResult(ctx, up.DatasetId)
}

// withPredictions returns rec with the model's prediction columns appended (schema out).
func withPredictions(lm *learn.Model, in, out *arrow.Schema, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	b := frame.NewBuilder(in)
	if err := b.Append(rec); err != nil {
		return nil, err
	}
	f := b.Frame()
	p, err := lm.Predict(f)
	if err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	cols := make([]arrow.Array, 0, len(out.Fields()))
	for j := 0; j < int(rec.NumCols()); j++ {
		c := rec.Column(j)
		c.Retain()
		cols = append(cols, c)
	}
	n := int(rec.NumRows())
	if lm.Task() == learn.TaskRegression {
		vb := array.NewFloat64Builder(mem)
		vb.AppendValues(p.Value[:n], nil)
		cols = append(cols, vb.NewArray())
		vb.Release()
	} else {
		lb := array.NewStringBuilder(mem)
		lb.AppendValues(p.Label[:n], nil)
		cols = append(cols, lb.NewArray())
		lb.Release()
		for k := range lm.Classes() {
			pb := array.NewFloat64Builder(mem)
			for i := 0; i < n; i++ {
				pb.Append(p.Proba[i][k])
			}
			cols = append(cols, pb.NewArray())
			pb.Release()
		}
	}
	r := array.NewRecordBatch(out, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return r, nil
}
