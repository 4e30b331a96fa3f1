package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"google.golang.org/protobuf/proto"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/ingest"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/plural"
	"github.com/vdsproject/vds/libs/storage"
)

// Run pulls ingest jobs until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	s.sweepWorkDirs()
	return s.rt.Queue.Work(ctx, JobIngest, s.cfg.Workers, s.ingest)
}

// workPrefix names a worker's scratch folders: ingest-<pid>-…, so that the folders of a process
// that was killed (whose job JetStream redelivers) can be told apart from live ones and removed.
func workPrefix() string { return fmt.Sprintf("ingest-%d-", os.Getpid()) }

// sweepWorkDirs removes scratch folders left by ingestion processes that no longer run.
func (s *Server) sweepWorkDirs() {
	ents, err := os.ReadDir(s.cache)
	if err != nil {
		return
	}
	for _, e := range ents {
		var pid int
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "ingest-") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), "ingest-%d-", &pid); err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Join(s.cache, e.Name()))
		}
	}
}

// ingest converts one upload into a Parquet dataset version. It is idempotent: a redelivered job
// writes the same object key and the same version record, so a crash mid-way leaves one version.
func (s *Server) ingest(ctx context.Context, t *jobs.Task) error {
	task := &jobsv1.IngestTask{}
	if err := t.Decode(task); err != nil {
		return err
	}
	err := s.ingestTask(ctx, t, task)
	if errors.Is(err, jobs.ErrCancelled) {
		// Cancelled (by its uploader's Ctrl-C, say): the version fails with the reason and the raw
		// upload goes, so that the same bytes uploaded again ingest afresh instead of pointing at
		// a version that would stay pending for good.
		s.dropCancelled(context.WithoutCancel(ctx), task, t.Job.GetId())
	}
	return err
}

// dropCancelled ends a version whose ingest job was cancelled: failed, with the reason, and its
// raw upload and the upload's record (the duplicate check's key) removed.
func (s *Server) dropCancelled(ctx context.Context, task *jobsv1.IngestTask, jobID string) {
	s.fail(ctx, VersionID(task.DatasetId, task.Version), fmt.Errorf("the ingest was cancelled (job %s); upload the file again to ingest it", jobID))
	_ = s.rt.Blobs.Delete(ctx, rawKey(task.UploadId))
	_ = s.rt.Store.DeleteResource(ctx, KindUpload, task.UploadId)
}

func (s *Server) ingestTask(ctx context.Context, t *jobs.Task, task *jobsv1.IngestTask) error {
	vid := VersionID(task.DatasetId, task.Version)
	work, err := os.MkdirTemp(s.cache, workPrefix())
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := t.Progress(ctx, 0.05, "downloading", ""); err != nil {
		return err
	}
	src := filepath.Join(work, "source")
	if err := s.rt.Blobs.Download(ctx, rawKey(task.UploadId), src); err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if err := t.Progress(ctx, 0.1, "converting", ""); err != nil {
		return err
	}
	// A cancel of the job is seen at the conversion's next progress report, which cancels ctx
	// (jobs.Task) and so stops the conversion.
	opts := ingest.Options{MaxDecompressedBytes: s.cfg.MaxDecompressedBytes, MaxLineBytes: s.cfg.MaxLineBytes, Threads: s.cfg.DuckThreads, MemoryLimit: s.cfg.DuckMemory,
		Progress: func(frac float64, msg string) { _ = t.Progress(ctx, 0.1+0.75*frac, "converting", msg) }}
	if o := task.Options; o != nil {
		opts.Format, opts.Delimiter, opts.Encoding, opts.NullValues = o.Format, o.Delimiter, o.Encoding, o.NullValues
		if o.Header != nil {
			h := *o.Header
			opts.Header = &h
		}
	}
	dst := filepath.Join(work, "data.parquet")
	res, err := ingest.Convert(ctx, src, dst, opts)
	if t.Cancelled() {
		return jobs.ErrCancelled
	}
	if err != nil {
		err = hidePaths(explainMemory(err, s.cfg.DuckMemory), src, work)
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			// The file cannot be read: the version is marked failed with the reason, and the raw
			// bytes are dropped (a later upload of the same bytes starts afresh).
			bg := context.WithoutCancel(ctx)
			s.fail(bg, vid, err)
			_ = s.rt.Blobs.Delete(bg, rawKey(task.UploadId))
			_ = s.rt.Store.DeleteResource(bg, KindUpload, task.UploadId)
			return jobs.Permanent(err)
		}
		return err
	}
	if err := t.Progress(ctx, 0.9, "storing", plural.Count(res.RowCount, "row")); err != nil {
		return err
	}
	put, err := s.rt.Blobs.Upload(ctx, dst, parquetKey(task.DatasetId, task.Version))
	if err != nil {
		return fmt.Errorf("store parquet: %w", err)
	}
	var ver *datasetsv1.DatasetVersion
	if _, err := s.rt.Store.UpdateResource(ctx, KindVersion, vid, func(r storage.Resource) (storage.Resource, error) {
		ver = &datasetsv1.DatasetVersion{}
		if err := proto.Unmarshal(r.Data, ver); err != nil {
			return r, err
		}
		ver.State, ver.RowCount, ver.Columns, ver.ReadRules, ver.Warnings = datasetsv1.VersionState_VERSION_STATE_READY, res.RowCount, res.Columns, res.Rules, res.Warnings
		ver.SizeBytes, ver.ParquetSha256, ver.Error = put.Size, put.SHA256, ""
		b, err := proto.Marshal(ver)
		r.Data, r.State = b, ver.State.String()
		return r, err
	}); err != nil {
		return err
	}
	s.touchDataset(ctx, task.DatasetId, ver)
	d, _ := s.rt.Store.GetResource(ctx, KindDataset, task.DatasetId)
	name := ""
	if ver.Origin != nil {
		name = ver.Origin.FileName
	}
	_ = lineage.Record(ctx, s.rt.Store, &lineagev1.Artifact{Id: vid, Kind: "dataset_version", ProjectId: d.ProjectID, Label: fmt.Sprintf("%s v%d (%s x %s)", name, ver.Version, plural.Count(ver.RowCount, "row"), plural.Count(len(ver.Columns), "column"))},
		[]string{task.UploadId}, "ingest", map[string]string{"format": res.Rules.GetFormat(), "encoding": res.Rules.GetEncoding(), "delimiter": res.Rules.GetDelimiter()})
	_ = s.rt.Blobs.Delete(ctx, rawKey(task.UploadId)+".tmp")
	return t.SetResult(ctx, task.DatasetId)
}

func (s *Server) fail(ctx context.Context, vid string, cause error) {
	var ver *datasetsv1.DatasetVersion
	_, err := s.rt.Store.UpdateResource(ctx, KindVersion, vid, func(r storage.Resource) (storage.Resource, error) {
		ver = &datasetsv1.DatasetVersion{}
		if err := proto.Unmarshal(r.Data, ver); err != nil {
			return r, err
		}
		ver.State, ver.Error = datasetsv1.VersionState_VERSION_STATE_FAILED, cause.Error()
		b, err := proto.Marshal(ver)
		r.Data, r.State = b, ver.State.String()
		return r, err
	})
	if err == nil {
		s.touchDataset(ctx, ver.DatasetId, ver)
	}
}

// touchDataset stores the version as the dataset's current one when it is the latest.
func (s *Server) touchDataset(ctx context.Context, id string, ver *datasetsv1.DatasetVersion) {
	_, _ = s.rt.Store.UpdateResource(ctx, KindDataset, id, func(r storage.Resource) (storage.Resource, error) {
		d := &datasetsv1.Dataset{}
		if err := proto.Unmarshal(r.Data, d); err != nil {
			return r, err
		}
		if ver.Version >= d.LatestVersion {
			d.Current = ver
		}
		b, err := proto.Marshal(d)
		r.Data = b
		return r, err
	})
}

// explainMemory turns DuckDB's out-of-memory error (several lines of tuning advice meant for DuckDB
// users) into one sentence that names the vds setting to change.
func explainMemory(err error, limit string) error {
	msg := err.Error()
	i := strings.Index(msg, "Out of Memory Error")
	if i < 0 {
		return err
	}
	first := msg[i:]
	if j := strings.IndexByte(first, '\n'); j >= 0 {
		first = first[:j]
	}
	return fmt.Errorf("the file needs more memory than the ingest limit of %s allows (%s); raise --duckdb-memory (VDS_DUCKDB_MEMORY) or split the file", limit, strings.TrimSpace(first))
}

// pathless is an error whose message had the worker's local paths taken out (DuckDB names the file
// it read); it still unwraps to the original.
type pathless struct {
	msg string
	err error
}

func (p *pathless) Error() string { return p.msg }
func (p *pathless) Unwrap() error { return p.err }

// hidePaths replaces the local copy of the upload and the work folder in err's message, so a failed
// version's reason shows no host paths.
func hidePaths(err error, src, work string) error {
	msg := strings.ReplaceAll(err.Error(), src, "the uploaded file")
	msg = strings.ReplaceAll(msg, work, "the work folder")
	if msg == err.Error() {
		return err
	}
	return &pathless{msg: msg, err: err}
}
