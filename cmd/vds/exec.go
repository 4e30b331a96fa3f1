package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/plural"
)

func init() {
	register("exec", command{
		usage: "exec FILE_OR_DATASET_ID… (--sql QUERY | --python SCRIPT) [flags]",
		help:  "run SQL or sandboxed Python over data files or datasets",
		run:   cmdExec,
	})
}

var datasetIDRE = regexp.MustCompile(`^ds_[A-Za-z0-9]+(\.v[0-9]+)?$`)

// tableName turns a file or dataset name into the name code refers to it by: tips.csv -> tips.
func tableName(name string) string {
	base := filepath.Base(name)
	if i := strings.Index(base, "."); i > 0 {
		base = base[:i]
	}
	var b strings.Builder
	for _, r := range base {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "t_" + s
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

func cmdExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("exec", "vds exec FILE_OR_DATASET_ID… (--sql QUERY | --python SCRIPT) — run code over data in the sandbox; "+
		"files are uploaded first; each input is visible by its name (tips.csv -> table tips; in Python: import vds; vds.load(\"tips\"))", stderr)
	var pf platformFlags
	pf.bind(fs)
	sqlQ := fs.String("sql", "", "a read-only SQL query (DuckDB dialect)")
	py := fs.String("python", "", "Python code, or the path of a .py file, or - for standard input")
	fs.Bool("no-progress", true, "accepted like analyze's and effect's; exec draws no progress bar")
	save := fs.Bool("save", false, "save the SQL result as a new dataset (Python output tables are always saved)")
	saveName := fs.String("name", "", "with --sql --save: the name of the new dataset (default sql-result-<execution>.parquet); Python names each output table in its code: vds.save(df, \"NAME\")")
	timeout := fs.Duration("timeout", 0, "time limit of the execution (default and maximum: the server's; a larger value is lowered to it, with a note on stderr)")
	memory := fs.Int64("memory-mb", 0, "memory limit of a Python execution in MiB (default and maximum: the server's; a larger value is lowered to it, with a note on stderr)")
	maxRows := fs.Int64("max-rows", 0, "most result rows a SQL query returns (default and maximum: the server's; a larger value is lowered to it, with a note on stderr)")
	format := fs.String("format", "text", "output format: text (streams output, prints tables) or json (one object)")
	var cf connFlags
	cf.bind(fs)
	artifacts := fs.String("artifacts", "", "save the execution's artifacts (figures, Vega-Lite specs, texts) into this folder, by their names")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case (*sqlQ == "") == (*py == ""):
		return usageError{"exec needs exactly one of --sql QUERY or --python SCRIPT"}
	case len(pos) > 16:
		return usageError{fmt.Sprintf("exec takes at most 16 inputs, got %d", len(pos))}
	case len(pos) == 0 && *sqlQ != "":
		return usageError{"exec --sql needs at least one data file or dataset ID to query"}
	case *timeout < 0 || *memory < 0 || *maxRows < 0:
		return usageError{"--timeout, --memory-mb and --max-rows must not be negative"}
	case *saveName != "" && *py != "":
		return usageError{`--name names the saved result of --sql; a Python execution names each output table in its code: vds.save(df, "NAME")`}
	case *saveName != "" && !*save:
		return usageError{"--name is the name of the saved SQL result: add --save"}
	}
	if err := oneOf("format", *format, "json", "text"); err != nil {
		return err
	}
	// A limit of the other language would be dropped by the server without a word: say so.
	switch {
	case *py != "" && *maxRows > 0:
		fmt.Fprintln(stderr, "vds: --max-rows is ignored: it limits the rows of a SQL result, and a Python execution has none (leave it out, or use --sql)")
		*maxRows = 0
	case *sqlQ != "" && *memory > 0:
		fmt.Fprintln(stderr, "vds: --memory-mb is ignored: it limits a Python execution, and a SQL query runs under the server's memory limit (leave it out, or use --python)")
		*memory = 0
	}
	req := &sandboxv1.ExecuteRequest{Language: sandboxv1.Language_LANGUAGE_SQL, Code: *sqlQ, SaveResult: *save, SaveName: *saveName,
		Limits: &sandboxv1.Limits{TimeoutMs: timeout.Milliseconds(), MemoryBytes: *memory << 20, MaxRows: *maxRows}}
	if *py != "" {
		req.Language, req.Code = sandboxv1.Language_LANGUAGE_PYTHON, *py
		switch {
		case *py == "-":
			b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
			if err != nil {
				return err
			}
			req.Code = string(b)
		case strings.HasSuffix(*py, ".py") && !strings.Contains(*py, "\n"):
			b, err := os.ReadFile(*py)
			if err != nil {
				return fmt.Errorf("cannot read the script %s: %w", *py, errors.Unwrap(err))
			}
			req.Code = string(b)
		}
	}
	for _, p := range pos {
		if !datasetIDRE.MatchString(p) {
			st, err := os.Stat(p)
			switch {
			case err != nil:
				return fmt.Errorf("%s is neither a readable file nor a dataset ID (ds_…): %w", p, errors.Unwrap(err))
			case !st.Mode().IsRegular():
				return fmt.Errorf("%s is not a regular file", p)
			}
		}
	}

	// No progress bar: stderr carries the code's own stderr.
	bar := newProgress(stderr, true)
	defer bar.done()
	c, proj, stop, err := connect(ctx, &pf, &cf, bar)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Close()
	req.ProjectId = proj
	var names []string
	for _, p := range pos {
		ref, name, err := resolveInput(ctx, c, proj, p)
		if err != nil {
			return err
		}
		names = append(names, name)
		req.Inputs = append(req.Inputs, &sandboxv1.Input{Dataset: ref})
	}
	inputs := make([]execInput, len(pos))
	for i, alias := range tableAliases(names) {
		req.Inputs[i].Alias = alias
		ref := req.Inputs[i].Dataset
		inputs[i] = execInput{Input: pos[i], Table: alias, DatasetID: ref.DatasetId, Version: ref.Version}
	}
	// Say which input got which table when names clash: code written for the natural name would
	// otherwise read the wrong input.
	for _, line := range sameNameInputs(names, inputs) {
		fmt.Fprintln(stderr, line)
	}
	if *artifacts != "" {
		if err := os.MkdirAll(*artifacts, 0o755); err != nil {
			return fmt.Errorf("cannot make the artifacts folder: %w", err)
		}
	}
	return runExec(ctx, c, req, inputs, *format, *artifacts, stdout, stderr)
}

// execInput is one input of vds exec and the table it is (JSON "inputs").
type execInput struct {
	Input     string `json:"input"`
	Table     string `json:"table"`
	DatasetID string `json:"dataset_id"`
	Version   int32  `json:"version"`
}

// sameNameInputs says, for each name that several inputs have (two tips.csv from different
// folders), which input is which table: "2 inputs are named tips: a/tips.csv is table tips,
// b/tips.csv is table tips_2".
func sameNameInputs(names []string, inputs []execInput) []string {
	groups := map[string][]int{}
	var order []string
	for i, n := range names {
		t := tableName(n)
		if groups[t] == nil {
			order = append(order, t)
		}
		groups[t] = append(groups[t], i)
	}
	var out []string
	for _, t := range order {
		g := groups[t]
		if len(g) < 2 {
			continue
		}
		parts := make([]string, len(g))
		for k, i := range g {
			parts[k] = fmt.Sprintf("%s is table %s", inputs[i].Input, inputs[i].Table)
		}
		out = append(out, fmt.Sprintf("%d inputs are named %s: %s", len(g), t, strings.Join(parts, ", ")))
	}
	return out
}

// tableAliases names each input by tableName, giving an input whose name is taken (two tips.csv
// from different folders, or a later input named like an earlier renamed one) the first free name
// NAME_2, NAME_3, … that no input has naturally, so every input has its own distinct table.
func tableAliases(names []string) []string {
	natural := map[string]bool{}
	for _, n := range names {
		natural[tableName(n)] = true
	}
	taken := map[string]bool{}
	out := make([]string, len(names))
	for i, n := range names {
		a := tableName(n)
		for k := 2; taken[a]; k++ {
			if c := tableName(n) + "_" + strconv.Itoa(k); !natural[c] && !taken[c] {
				a = c
			}
		}
		taken[a] = true
		out[i] = a
	}
	return out
}

// artifactNameRE is what the sandbox accepts as an output name; anything else is not written.
var artifactNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// saveArtifact downloads one artifact into dir under its name (never a path: the name is checked
// again here) and returns the file written.
func saveArtifact(ctx context.Context, c *client.Client, exe string, a *sandboxv1.ExecutionArtifact, dir string) (string, error) {
	if !artifactNameRE.MatchString(a.Name) || strings.Contains(a.Name, "..") {
		return "", fmt.Errorf("artifact %s has the name %q, which is not a plain file name; not saved", a.Id, a.Name)
	}
	st, err := c.Sandbox.GetArtifact(ctx, &sandboxv1.GetArtifactRequest{ExecutionId: exe, ArtifactId: a.Id})
	if err != nil {
		return "", explain(err, "download artifact "+a.Name)
	}
	path := filepath.Join(dir, a.Name)
	tmp, err := os.CreateTemp(dir, "."+a.Name+".part-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	var n int64
	for {
		m, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			tmp.Close()
			return "", explain(err, "download artifact "+a.Name)
		}
		k, err := tmp.Write(m.Data)
		n += int64(k)
		if err != nil {
			tmp.Close()
			return "", err
		}
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if n != a.SizeBytes {
		return "", fmt.Errorf("artifact %s: got %d bytes, want %d", a.Name, n, a.SizeBytes)
	}
	return path, os.Rename(tmp.Name(), path)
}

// splitDatasetID splits "ds_….vN" into the dataset ID and N; "ds_…" is version 0 (the latest ready one).
func splitDatasetID(arg string) (string, int32) {
	if i := strings.Index(arg, ".v"); i > 0 {
		v, _ := strconv.Atoi(arg[i+2:])
		return arg[:i], int32(v)
	}
	return arg, 0
}

// resolveInput uploads a file (and waits for ingest) or looks up a dataset ID ("ds_…" or "ds_….vN").
func resolveInput(ctx context.Context, c *client.Client, project, arg string) (*commonv1.DatasetRef, string, error) {
	if datasetIDRE.MatchString(arg) {
		if _, err := os.Stat(arg); err != nil {
			id, ver := splitDatasetID(arg)
			d, err := c.Datasets.GetDataset(ctx, &datasetsv1.GetDatasetRequest{DatasetId: id})
			if err != nil {
				return nil, "", explain(err, "dataset "+id)
			}
			return &commonv1.DatasetRef{DatasetId: id, Version: ver}, d.Dataset.Name, nil
		}
	}
	up, err := c.UploadFile(ctx, project, arg, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", interruptedError{}
		}
		return nil, "", explain(err, "upload "+filepath.Base(arg))
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			if ctx.Err() != nil {
				return nil, "", interruptedError{cancelJob(c, up.JobId, "ingest of "+filepath.Base(arg))}
			}
			return nil, "", explain(err, "ingest "+filepath.Base(arg))
		}
	}
	return &commonv1.DatasetRef{DatasetId: up.DatasetId, Version: up.Version}, filepath.Base(arg), nil
}

// cancelJob cancels a job after an interrupt (the command's context is done) and says what became of it.
func cancelJob(c *client.Client, id, what string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Jobs.CancelJob(ctx, &jobsv1.CancelJobRequest{JobId: id})
	switch {
	case err != nil:
		return fmt.Sprintf("could not cancel job %s (%s): %v; it may still be running", id, what, explain(err, "cancel"))
	case r.Job.State == jobsv1.JobState_JOB_STATE_CANCELLED:
		return fmt.Sprintf("cancelled: job %s (%s)", id, what)
	}
	return fmt.Sprintf("job %s (%s) had already ended: %s", id, what, jobStateName(r.Job.State))
}

type execJSON struct {
	ExecutionID string            `json:"execution_id"`
	Stdout      string            `json:"stdout"`
	Stderr      string            `json:"stderr"`
	Tables      []json.RawMessage `json:"tables"`
	Artifacts   []json.RawMessage `json:"artifacts"`
	Status      json.RawMessage   `json:"status"`
	// Limits are the limits the execution ran with (the server caps the requested ones at its
	// maximums), set when --timeout, --memory-mb or --max-rows was given.
	Limits json.RawMessage `json:"limits,omitempty"`
	// ArtifactFiles are the files --artifacts wrote.
	ArtifactFiles []string `json:"artifact_files,omitempty"`
	// Inputs are the inputs in the order given, each with the table the code reads it as.
	Inputs []execInput `json:"inputs"`
}

func runExec(ctx context.Context, c *client.Client, req *sandboxv1.ExecuteRequest, inputs []execInput, format, artifactDir string, stdout, stderr io.Writer) error {
	st, err := c.Sandbox.Execute(ctx, req)
	if err != nil {
		return explain(err, "exec")
	}
	out := execJSON{Tables: []json.RawMessage{}, Artifacts: []json.RawMessage{}, Inputs: inputs}
	if out.Inputs == nil {
		out.Inputs = []execInput{}
	}
	var metas []map[string]any // the JSON tables, encoded at the end (a saved table's state is known then)
	var saved []savedTable
	var final *sandboxv1.Status
	openLine := false // the program's last output chunk did not end with a newline
	var arts []*sandboxv1.ExecutionArtifact
	pj := protojson.MarshalOptions{EmitUnpopulated: false}
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil && ctx.Err() != nil {
			if out.ExecutionID != "" {
				return interruptedError{"execution " + out.ExecutionID + " was interrupted"}
			}
			return interruptedError{}
		}
		if err != nil {
			// A refused request is recorded too; the trailer names its record.
			if id := st.Trailer().Get("vds-execution-id"); len(id) == 1 {
				return fmt.Errorf("%w (recorded as execution %s)", explain(err, "exec"), id[0])
			}
			return explain(err, "exec")
		}
		out.ExecutionID = ev.ExecutionId
		switch e := ev.Event.(type) {
		case *sandboxv1.ExecuteResponse_Stdout:
			if format == "json" {
				out.Stdout += e.Stdout
			} else {
				fmt.Fprint(stdout, e.Stdout)
				if e.Stdout != "" {
					openLine = !strings.HasSuffix(e.Stdout, "\n")
				}
			}
		case *sandboxv1.ExecuteResponse_Stderr:
			if format == "json" {
				out.Stderr += e.Stderr
			} else {
				fmt.Fprint(stderr, e.Stderr)
				if e.Stderr != "" {
					openLine = !strings.HasSuffix(e.Stderr, "\n")
				}
			}
		case *sandboxv1.ExecuteResponse_Table:
			rows, err := tableRows(e.Table.ArrowIpc)
			if err != nil {
				return fmt.Errorf("decode result table: %w", err)
			}
			var meta map[string]any
			if format == "json" {
				meta = map[string]any{"name": e.Table.Name, "row_count": e.Table.RowCount, "truncated": e.Table.Truncated, "rows": rows}
				if e.Table.SavedAs != nil {
					meta["saved_as"] = map[string]any{"dataset_id": e.Table.SavedAs.DatasetId, "version": e.Table.SavedAs.Version}
					if e.Table.Duplicate {
						meta["duplicate"] = true
					}
				}
				metas = append(metas, meta)
			}
			if e.Table.SavedAs != nil {
				saved = append(saved, savedTable{name: e.Table.Name, ref: e.Table.SavedAs, duplicate: e.Table.Duplicate, meta: meta})
			}
			if format == "json" {
				continue
			}
			if len(e.Table.ArrowIpc) > 0 {
				if err := printTable(stdout, e.Table.ArrowIpc); err != nil {
					return err
				}
			}
			if e.Table.Truncated {
				fmt.Fprintf(stderr, "(result truncated at %s)\n", plural.Count(e.Table.RowCount, "row"))
			}
		case *sandboxv1.ExecuteResponse_Artifact:
			arts = append(arts, e.Artifact)
			if format == "json" {
				b, _ := pj.Marshal(e.Artifact)
				out.Artifacts = append(out.Artifacts, b)
			} else {
				fmt.Fprintf(stderr, "artifact %s: %s (%s, %s)\n", e.Artifact.Id, e.Artifact.Name, e.Artifact.ContentType, bytesHuman(e.Artifact.SizeBytes))
			}
		case *sandboxv1.ExecuteResponse_Status:
			final = e.Status
			b, _ := pj.Marshal(e.Status)
			out.Status = b
		}
	}
	if artifactDir != "" {
		// The artifacts are stored by the time the status arrives.
		for _, a := range arts {
			path, err := saveArtifact(ctx, c, out.ExecutionID, a, artifactDir)
			if err != nil {
				return err
			}
			out.ArtifactFiles = append(out.ArtifactFiles, path)
			if format != "json" {
				fmt.Fprintf(stderr, "saved artifact %s\n", path)
			}
		}
	}
	// A saved table is a dataset version whose ingest runs after the execution: it is saved only
	// once that ingest succeeded, so wait for it and report a failure as a failure.
	var saveErrs []string
	for _, t := range saved {
		err := waitSaved(ctx, c, t.ref)
		if t.meta != nil {
			t.meta["state"] = "ready"
			if err != nil {
				t.meta["state"], t.meta["save_error"] = "failed", err.Error()
			}
		}
		switch {
		case err != nil:
			saveErrs = append(saveErrs, fmt.Sprintf("output table %s was not saved: %v", t.name, err))
		case format != "json" && t.duplicate:
			// The ingestion recognised the bytes: the reference is the version they were saved as before.
			fmt.Fprintf(stderr, "%s has the same bytes as existing dataset %s v%d (no new version)\n", t.name, t.ref.DatasetId, t.ref.Version)
		case format != "json":
			fmt.Fprintf(stderr, "saved %s as dataset %s v%d\n", t.name, t.ref.DatasetId, t.ref.Version)
		}
	}
	if final != nil && final.Outcome == sandboxv1.Outcome_OUTCOME_OK {
		// Outputs the sandbox could not even upload are only named in the status message.
		for _, m := range failedOutputRE.FindAllStringSubmatch(final.Message, -1) {
			saveErrs = append(saveErrs, fmt.Sprintf("output %s was not saved: %s", m[2], strings.TrimSpace(m[3])))
		}
	}
	for _, m := range metas {
		b, _ := json.Marshal(m)
		out.Tables = append(out.Tables, b)
	}
	if final != nil && out.ExecutionID != "" {
		applied, notes := appliedLimits(ctx, c, req, out.ExecutionID)
		for _, n := range notes {
			fmt.Fprintf(stderr, "vds: %s\n", n)
		}
		if applied != nil {
			out.Limits, _ = pj.Marshal(applied)
		}
	}
	if format == "json" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	} else if final != nil {
		if openLine { // the program's last output did not end its line: the status goes on a line of its own
			fmt.Fprintln(stderr)
		}
		fmt.Fprintf(stderr, "execution %s: %s in %s", out.ExecutionID, strings.ToLower(strings.TrimPrefix(final.Outcome.String(), "OUTCOME_")),
			(time.Duration(final.WallMs) * time.Millisecond).String())
		if msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(final.Message), ";")); msg != "" {
			fmt.Fprintf(stderr, " — %s", fixCounts(msg))
		}
		fmt.Fprintln(stderr)
	}
	if final == nil {
		return errors.New("exec: the stream ended without a status")
	}
	if final.Outcome != sandboxv1.Outcome_OUTCOME_OK {
		if format != "json" {
			return reportedError{} // the status line above said how it ended and why
		}
		return fmt.Errorf("execution %s ended %s: %s", out.ExecutionID, strings.ToLower(strings.TrimPrefix(final.Outcome.String(), "OUTCOME_")), final.Message)
	}
	if len(saveErrs) > 0 {
		return fmt.Errorf("execution %s ran, but %s", out.ExecutionID, strings.Join(saveErrs, "; "))
	}
	return nil
}

// appliedLimits compares the limits asked for (--timeout, --memory-mb, --max-rows) with those the
// execution ran with, from its record: the server silently lowers a limit above its maximum to the
// maximum, and the caller is told so. Nothing is looked up when no limit was asked for.
func appliedLimits(ctx context.Context, c *client.Client, req *sandboxv1.ExecuteRequest, exe string) (*sandboxv1.Limits, []string) {
	want := req.GetLimits()
	if want.GetTimeoutMs() == 0 && want.GetMemoryBytes() == 0 && want.GetMaxRows() == 0 {
		return nil, nil
	}
	r, err := c.Sandbox.GetExecution(ctx, &sandboxv1.GetExecutionRequest{ExecutionId: exe})
	if err != nil {
		return nil, []string{fmt.Sprintf("could not check the limits execution %s ran with: %v", exe, explain(err, "get execution"))}
	}
	got := r.Execution.GetLimits()
	if got == nil {
		return nil, nil
	}
	python := req.Language == sandboxv1.Language_LANGUAGE_PYTHON
	var notes []string
	if w, g := want.TimeoutMs, got.TimeoutMs; w > 0 && g > 0 && g < w {
		notes = append(notes, fmt.Sprintf("--timeout %s is above the server's maximum; the execution ran with the time limit of %s",
			time.Duration(w)*time.Millisecond, time.Duration(g)*time.Millisecond))
	}
	if w, g := want.MemoryBytes, got.MemoryBytes; python && w > 0 && g > 0 && g < w {
		notes = append(notes, fmt.Sprintf("--memory-mb %d is above the server's maximum; the execution ran with the memory limit of %s (--memory-mb %d)",
			w>>20, bytesHuman(g), g>>20))
	}
	if w, g := want.MaxRows, got.MaxRows; !python && w > 0 && g > 0 && g < w {
		notes = append(notes, fmt.Sprintf("--max-rows %d is above the server's maximum; the query returned at most %s", w, plural.Count(g, "row")))
	}
	return got, notes
}

type savedTable struct {
	name      string
	ref       *commonv1.DatasetRef
	duplicate bool           // the bytes were an existing version's: ref is that version, nothing new was made
	meta      map[string]any // its JSON object (nil in text format)
}

// failedOutputRE finds the outputs the sandbox names as not saved in an OK status message
// ("…; saving out.csv failed: reason").
var failedOutputRE = regexp.MustCompile(`(saving|storing) (\S+) failed: ([^;]*)`)

// waitSaved waits until a saved table's dataset version is ingested; the error says why it failed.
func waitSaved(ctx context.Context, c *client.Client, ref *commonv1.DatasetRef) error {
	get := func() (*datasetsv1.DatasetVersion, error) {
		v, err := c.Datasets.GetVersion(ctx, &datasetsv1.GetVersionRequest{DatasetId: ref.DatasetId, Version: ref.Version})
		if err != nil {
			return nil, explain(err, fmt.Sprintf("check dataset %s v%d", ref.DatasetId, ref.Version))
		}
		return v.Version, nil
	}
	v, err := get()
	if err != nil {
		return err
	}
	if v.State == datasetsv1.VersionState_VERSION_STATE_PENDING && v.JobId != "" {
		_, jerr := c.WaitJob(ctx, v.JobId, nil)
		if v, err = get(); err != nil {
			return err
		}
		var je *client.JobError
		if v.State == datasetsv1.VersionState_VERSION_STATE_PENDING && errors.As(jerr, &je) {
			return fmt.Errorf("the ingest of dataset %s v%d failed: %s", ref.DatasetId, ref.Version, je.Job.Error)
		} else if jerr != nil && !errors.As(jerr, &je) {
			return explain(jerr, fmt.Sprintf("wait for the ingest of dataset %s v%d", ref.DatasetId, ref.Version))
		}
	}
	switch v.State {
	case datasetsv1.VersionState_VERSION_STATE_READY:
		return nil
	case datasetsv1.VersionState_VERSION_STATE_FAILED:
		return fmt.Errorf("the ingest of dataset %s v%d failed: %s", ref.DatasetId, ref.Version, v.Error)
	}
	return fmt.Errorf("dataset %s v%d is %s", ref.DatasetId, ref.Version, strings.ToLower(strings.TrimPrefix(v.State.String(), "VERSION_STATE_")))
}

// tableRows decodes an Arrow IPC stream into row objects (column name -> value).
func tableRows(ipcBytes []byte) ([]json.RawMessage, error) {
	rows := []json.RawMessage{}
	if len(ipcBytes) == 0 {
		return rows, nil
	}
	r, err := ipc.NewReader(bytes.NewReader(ipcBytes))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	for r.Next() {
		var buf bytes.Buffer
		if err := array.RecordToJSON(r.RecordBatch(), &buf); err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(line) > 0 {
				rows = append(rows, json.RawMessage(line))
			}
		}
	}
	return rows, r.Err()
}

// printTable writes an Arrow IPC stream as tab-separated text with a header row.
func printTable(w io.Writer, ipcBytes []byte) error {
	r, err := ipc.NewReader(bytes.NewReader(ipcBytes))
	if err != nil {
		return err
	}
	defer r.Release()
	var names []string
	for _, f := range r.Schema().Fields() {
		names = append(names, f.Name)
	}
	fmt.Fprintln(w, strings.Join(names, "\t"))
	for r.Next() {
		rec := r.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			cells := make([]string, rec.NumCols())
			for j := range cells {
				if rec.Column(j).IsNull(i) {
					cells[j] = "NULL"
				} else {
					cells[j] = rec.Column(j).ValueStr(i)
				}
			}
			fmt.Fprintln(w, strings.Join(cells, "\t"))
		}
	}
	return r.Err()
}
