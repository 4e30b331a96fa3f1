package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

func TestPlural(t *testing.T) {
	for in, want := range map[string]string{
		"1 rows (truncated at the limit of 1 rows)": "1 row (truncated at the limit of 1 row)",
		"1 rows x 1 columns":                        "1 row x 1 column",
		"11 rows, 0.1 rows, 21 rows x 1 columns":    "11 rows, 0.1 rows, 21 rows x 1 column",
		"wrote 1 rows to ds_x version 1":            "wrote 1 row to ds_x version 1",
		"2,001 rows; 1 values":                      "2,001 rows; 1 value",
	} {
		if got := fixCounts(in); got != want {
			t.Errorf("fixCounts(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every command's help writes each flag as --name (a shorthand as "-o, --output"), never a
// one-letter flag as "--o"; the flag package's own errors name flags the same way.
func TestHelpFlagNames(t *testing.T) {
	t.Parallel()
	flagLine := regexp.MustCompile(`^  (-[a-z], )?--[a-z][a-z-]+  \[VDS_[A-Z_]+\]`)
	for name := range commands {
		code, out, _ := cli(t, 10*time.Second, "help", name)
		if code != 0 {
			t.Fatalf("vds help %s: exit %d", name, code)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "  -") && !flagLine.MatchString(line) {
				t.Errorf("vds help %s: flag line %q is not --name [VDS_NAME]", name, line)
			}
		}
	}
	_, out, _ := cli(t, 10*time.Second, "help", "export")
	if !strings.Contains(out, "  -o, --output  [VDS_OUTPUT]\n") || strings.Contains(out, "--o ") || strings.Contains(out, "VDS_O]") {
		t.Errorf("vds help export:\n%s", out)
	}
	// vds help keeps each command's description in one column, a long usage on its own line.
	_, out, _ = cli(t, 10*time.Second, "help")
	lines := strings.Split(out, "\n")
	for name, cmd := range commands {
		found := false
		for _, line := range lines {
			if i := strings.Index(line, cmd.help); i >= 0 {
				found = true
				if col := len([]rune(line[:i])); col != 47 {
					t.Errorf("vds help: the description of %s starts at column %d, not 47: %q", name, col, line)
				}
			}
		}
		if !found || !strings.Contains(out, "  vds "+cmd.usage) {
			t.Errorf("vds help lacks %s:\n%s", name, out)
		}
	}
}

func TestUsageMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"effect", csv, "--treatment", "a", "--outcome", "b", "--estimand", "atc"},
			`--estimand must be one of ate, att, not "atc"; leave it out for the default (ate)`},
		{[]string{"export", "mdl_01a23fe82c007d5db92317d229925030", "--output"}, "flag needs an argument: --output"},
		{[]string{"exec", csv, "--sql", "SELECT 1", "-timeout", "soon"}, `invalid value "soon" for flag --timeout`},
		{[]string{"exec", csv, "--sql", "SELECT 1", "--bogus"}, "flag provided but not defined: --bogus"},
	} {
		code, _, errs := cli(t, 10*time.Second, c.args...)
		if code != 2 || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, code, errs, c.msg)
		}
	}
}

// vds analyze takes a dataset ID (ds_…, its latest version) or ds_….vN like exec and ask do,
// analysing that dataset without an upload; an ID that names no dataset says so.
func TestAnalyzeDatasetID(t *testing.T) {
	home, addr := platform(t)
	c := sharedClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up, err := c.UploadFile(ctx, shared.p.Creds.ProjectID, shareddata.Path(t, "tabular/iris.csv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.JobId != "" {
		if _, err := c.WaitJob(ctx, up.JobId, nil); err != nil {
			t.Fatal(err)
		}
	}
	ref := fmt.Sprintf("%s.v%d", up.DatasetId, up.Version)
	rep := analyzeJSON(t, ref, "species", "--budget", "2s")
	if rep.Dataset.Id != up.DatasetId || rep.Dataset.Version != up.Version || rep.Dataset.RowCount != 150 || rep.Model == nil {
		t.Errorf("analyze %s: dataset %s v%d of %d rows, model %v; want %s with 150 rows and a model", ref, rep.Dataset.Id, rep.Dataset.Version,
			rep.Dataset.RowCount, rep.Model, ref)
	}
	code, out, errs := cli(t, 2*time.Minute, "analyze", up.DatasetId, "--target", "species", "--budget", "1s", "--server", addr, "--home", home, "--no-progress")
	if want := fmt.Sprintf("Dataset `%s` version %d: 150 rows, 5 columns.", up.DatasetId, up.Version); code != 0 || !strings.Contains(out, want) ||
		strings.Contains(errs, "upload") {
		t.Errorf("analyze %s: exit %d, stderr %q; want a report with %q, no upload", up.DatasetId, code, errs, want)
	}
	code, _, errs = cli(t, time.Minute, "analyze", "ds_0000000000000000000000000000nope", "--target", "species", "--server", addr, "--home", home, "--no-progress")
	if code != 1 || !strings.Contains(errs, "dataset ds_0000000000000000000000000000nope") {
		t.Errorf("unknown dataset: exit %d, stderr %q", code, errs)
	}
	code, _, errs = cli(t, 10*time.Second, "analyze", filepath.Join(t.TempDir(), "missing.csv"), "--target", "species")
	if code != 1 || !strings.Contains(errs, "give a data file or a dataset ID ds_…") {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
}

// vds exec says on stderr when a limit asked for is above the server's maximum, and with which limit
// the execution ran (the sandbox lowers it silently); a limit of the other language is ignored with a
// note. Counts of one are singular. The test platform runs with the sandbox's defaults: 60 s,
// 100000 rows, 2 GiB for Python.
func TestExecLimitNotes(t *testing.T) {
	home, addr := platform(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	flags := []string{"--server", addr, "--home", home}
	code, stdout, stderr := cli(t, time.Minute, append([]string{"exec", tips, "--sql", "SELECT day FROM tips ORDER BY day", "--max-rows", "1"}, flags...)...)
	if code != 0 || stdout != "day\nFri\n" || !strings.Contains(stderr, "(result truncated at 1 row)\n") ||
		!strings.Contains(stderr, "— 1 row (truncated at the limit of 1 row)\n") || strings.Contains(stderr, "above the server's maximum") {
		t.Errorf("--max-rows 1: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = cli(t, time.Minute, append([]string{"exec", tips, "--sql", "SELECT count(*) FROM tips", "--timeout", "10m",
		"--max-rows", "1000000", "--memory-mb", "64"}, flags...)...)
	for _, want := range []string{
		"vds: --timeout 10m0s is above the server's maximum; the execution ran with the time limit of 1m0s\n",
		"vds: --max-rows 1000000 is above the server's maximum; the query returned at most 100000 rows\n",
		"vds: --memory-mb is ignored: it limits a Python execution",
	} {
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("sql over the maximums: exit %d, stderr %q; want %q", code, stderr, want)
		}
	}
	code, stdout, stderr = cli(t, time.Minute, append([]string{"exec", "--python", "print(1)", "--memory-mb", "1000000", "--timeout", "30s",
		"--format", "json"}, flags...)...)
	var o struct {
		Stdout string `json:"stdout"`
		Limits struct {
			TimeoutMs   string `json:"timeoutMs"`
			MemoryBytes string `json:"memoryBytes"`
		} `json:"limits"`
	}
	if err := json.Unmarshal([]byte(stdout), &o); err != nil || code != 0 || o.Stdout != "1\n" ||
		o.Limits.TimeoutMs != "30000" || o.Limits.MemoryBytes != fmt.Sprint(int64(2<<30)) ||
		!strings.Contains(stderr, "vds: --memory-mb 1000000 is above the server's maximum; the execution ran with the memory limit of 2.0 GiB (--memory-mb 2048)\n") ||
		strings.Contains(stderr, "--timeout") {
		t.Errorf("python over the memory maximum: exit %d (%v), stdout %q, stderr %q", code, err, stdout, stderr)
	}
}
