package platform

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/flightx"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
)

// DatasetVersion resolves a dataset reference through the ingestion service, as the caller in ctx
// (so a dataset the caller cannot see answers NotFound). Version 0 means the latest ready version.
func (rt *Runtime) DatasetVersion(ctx context.Context, ref *commonv1.DatasetRef) (*datasetsv1.Dataset, *datasetsv1.DatasetVersion, error) {
	if ref == nil || ref.DatasetId == "" {
		return nil, nil, grpcx.InvalidArgument("dataset.dataset_id", "is required")
	}
	conn, err := rt.Peer("ingestion")
	if err != nil {
		return nil, nil, status.Error(codes.Unavailable, err.Error())
	}
	c := datasetsv1.NewDatasetServiceClient(conn)
	d, err := c.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: ref.DatasetId})
	if err != nil {
		return nil, nil, err
	}
	if ref.Version != 0 {
		v, err := c.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: ref.DatasetId, Version: ref.Version})
		if err != nil {
			return nil, nil, err
		}
		if v.Version.State != datasetsv1.VersionState_VERSION_STATE_READY {
			return nil, nil, grpcx.FailedPrecondition("version %d of dataset %s is not ready (%s)", ref.Version, ref.DatasetId, v.Version.State)
		}
		return d.Dataset, v.Version, nil
	}
	vs, err := c.ListVersions(ctx, &datasetsv1.ListVersionsRequest{DatasetId: ref.DatasetId})
	if err != nil {
		return nil, nil, err
	}
	for _, v := range vs.Versions {
		if v.State == datasetsv1.VersionState_VERSION_STATE_READY {
			return d.Dataset, v, nil
		}
	}
	if cur := d.Dataset.GetCurrent(); cur != nil && cur.State == datasetsv1.VersionState_VERSION_STATE_FAILED {
		return nil, nil, grpcx.FailedPrecondition("dataset %s could not be read: %s", ref.DatasetId, cur.Error)
	}
	return nil, nil, grpcx.FailedPrecondition("dataset %s has no ready version yet; wait for its ingest job", ref.DatasetId)
}

// ReadFrame reads columns (all when empty) of a dataset version over Arrow Flight.
func (rt *Runtime) ReadFrame(ctx context.Context, datasetID string, version int32, columns []string) (*frame.Frame, error) {
	conn, err := rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	f, err := flightx.ReadFrame(ctx, conn, &datasetsv1.DatasetQuery{DatasetId: datasetID, Version: version, Columns: columns})
	if err != nil {
		return nil, fmt.Errorf("read %s v%d: %w", datasetID, version, err)
	}
	return f, nil
}

// UploadTable stores a table file (Parquet or CSV bytes) as a new dataset through the ingestion
// service's streaming Upload, with ctx's outgoing credentials (grpcx.Forward of a request's, or a
// context made with ActAs). The name is also
// the file name in the dataset's metadata; it is never used as a path.
func (rt *Runtime) UploadTable(ctx context.Context, projectID, name string, data []byte) (*datasetsv1.UploadResponse, error) {
	return rt.UploadTableAs(ctx, projectID, name, name, data)
}

// UploadTableAs is UploadTable with a dataset name other than the file name (whose extension
// says the format).
func (rt *Runtime) UploadTableAs(ctx context.Context, projectID, name, fileName string, data []byte) (*datasetsv1.UploadResponse, error) {
	conn, err := rt.Peer("ingestion")
	if err != nil {
		return nil, err
	}
	up, err := datasetsv1.NewDatasetServiceClient(conn).Upload(ctx)
	if err != nil {
		return nil, err
	}
	if err := up.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Metadata{Metadata: &datasetsv1.UploadMetadata{
		ProjectId: projectID, Name: name, FileName: fileName, SizeBytes: int64(len(data))}}}); err != nil {
		return nil, err
	}
	const chunk = 256 << 10
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := up.Send(&datasetsv1.UploadRequest{Payload: &datasetsv1.UploadRequest_Chunk{Chunk: data[off:end]}}); err != nil {
			return nil, err
		}
	}
	return up.CloseAndRecv()
}

// ActAs returns a context whose calls to peers act for userID in projectID (for job workers).
func (rt *Runtime) ActAs(ctx context.Context, userID, projectID string) (context.Context, error) {
	return grpcx.AsUser(ctx, rt.MeshKey, rt.Name, userID, projectID)
}

// BooleanLabels is how the file spelled the classes of a boolean column of ver (the version's
// ReadRules.boolean_labels: telco's Churn is "Yes" / "No"), and whether both spellings are known
// and differ.
func BooleanLabels(ver *datasetsv1.DatasetVersion, column string) (trueLabel, falseLabel string, ok bool) {
	for _, bl := range ver.GetReadRules().GetBooleanLabels() {
		if bl.GetColumn() == column {
			t, f := bl.GetTrueLabel(), bl.GetFalseLabel()
			return t, f, t != "" && f != "" && t != f
		}
	}
	return "", "", false
}

// BooleanClassLabel names the class "true" or "false" of a boolean column of ver as the file
// spelled it ("Yes" rather than "true"); any other class, or one whose spelling is unknown, is
// returned as it is.
func BooleanClassLabel(ver *datasetsv1.DatasetVersion, column, class string) string {
	for _, bl := range ver.GetReadRules().GetBooleanLabels() {
		if bl.GetColumn() != column {
			continue
		}
		switch {
		case class == "true" && bl.GetTrueLabel() != "":
			return bl.GetTrueLabel()
		case class == "false" && bl.GetFalseLabel() != "":
			return bl.GetFalseLabel()
		}
	}
	return class
}

// LabelBooleans gives every Bool column of f the file's spellings of its classes
// (frame.Column.TrueLabel / FalseLabel) from ver, where BooleanLabels knows them, so that
// profiles and findings name the groups "Churn = Yes" rather than "Churn = 1".
func LabelBooleans(f *frame.Frame, ver *datasetsv1.DatasetVersion) {
	if f == nil {
		return
	}
	for _, c := range f.Columns {
		if c.Kind != frame.Bool {
			continue
		}
		if t, fl, ok := BooleanLabels(ver, c.Name); ok {
			c.TrueLabel, c.FalseLabel = t, fl
		}
	}
}

// HasColumn reports whether a version has the named column.
func HasColumn(cols []*datasetsv1.Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

// RequireColumn returns an InvalidArgument error naming field when the column is missing, listing
// the available columns so the caller can correct the name.
func RequireColumn(field string, cols []*datasetsv1.Column, name string) error {
	if name == "" {
		return grpcx.InvalidArgument(field, "is required")
	}
	if HasColumn(cols, name) {
		return nil
	}
	var names []string
	for i, c := range cols {
		if i == 30 {
			names = append(names, "…")
			break
		}
		names = append(names, c.Name)
	}
	return grpcx.InvalidArgument(field, fmt.Sprintf("column %q is not in the dataset; columns are: %s", name, strings.Join(names, ", ")))
}

// ParquetKey is the object-store key of a dataset version's Parquet file. Versions are immutable,
// so services that query with DuckDB (the sandbox) may cache the object locally.
func ParquetKey(datasetID string, version int32) string {
	return fmt.Sprintf("datasets/%s/v%d.parquet", datasetID, version)
}

// maxTargetSuggestions bounds the columns RequireTarget lists as possible targets.
const maxTargetSuggestions = 10

// RequireTarget is RequireColumn for a column to be predicted or explained (an analysis's target),
// checked before any work starts: a column with no values (semantic type EMPTY, or missing on all
// rows of a version with rows) is refused with an InvalidArgument error naming it and listing the
// columns that could be targets (numeric, boolean or categorical, with values).
func RequireTarget(field string, ver *datasetsv1.DatasetVersion, name string) error {
	cols := ver.GetColumns()
	if err := RequireColumn(field, cols, name); err != nil {
		return err
	}
	var col *datasetsv1.Column
	for _, c := range cols {
		if c.Name == name {
			col = c
			break
		}
	}
	rows := ver.GetRowCount()
	switch col.SemanticType {
	case commonv1.SemanticType_SEMANTIC_TYPE_IDENTIFIER:
		// customerID: a different value on every row; a model of it learns nothing (and failed late,
		// after profiling, as "too many classes to classify").
		return grpcx.InvalidArgument(field, fmt.Sprintf("column %q is an identifier (a different value on nearly every row), so there is nothing to predict or explain; %s", name, targetSuggestions(cols, rows)))
	case commonv1.SemanticType_SEMANTIC_TYPE_TEXT:
		return grpcx.InvalidArgument(field, fmt.Sprintf("column %q is free text (nearly every value different), so it cannot be a target; %s", name, targetSuggestions(cols, rows)))
	}
	empty := col.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_EMPTY || (rows > 0 && col.MissingCount >= rows)
	if !empty {
		return nil
	}
	all := "every row is missing"
	if rows > 0 {
		all = fmt.Sprintf("all %d rows are missing", rows)
	}
	return grpcx.InvalidArgument(field, fmt.Sprintf("column %q has no values (%s), so there is nothing to predict or explain; %s", name, all, targetSuggestions(cols, rows)))
}

// targetSuggestions lists the columns that could be targets: numeric, boolean or categorical ones
// that have values (identifiers, free text, dates and empty columns cannot).
func targetSuggestions(cols []*datasetsv1.Column, rows int64) string {
	var names []string
	more := 0
	for _, c := range cols {
		switch c.SemanticType {
		case commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN, commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL:
		default:
			continue
		}
		if rows > 0 && c.MissingCount >= rows {
			continue
		}
		if len(names) == maxTargetSuggestions {
			more++
			continue
		}
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return "no column could be a target (each is empty, an identifier, free text or a date)"
	}
	if more > 0 {
		names = append(names, fmt.Sprintf("and %d more", more))
	}
	return "columns that could be targets: " + strings.Join(names, ", ")
}
