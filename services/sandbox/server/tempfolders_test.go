package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/shareddata"
	"github.com/vdsproject/vds/services/sandbox/server"
)

// TestTempFoldersRemoved: the sandbox service's per-execution folders do not outlive what made
// them. At start it removes what a process that died left (a Python sandbox's folder, SQL spill
// folders, in the work and spill folders and, from older builds, in the cache folder; as root also
// a dead process's own $TMPDIR/vds-sandbox-* folder) and keeps the cached dataset versions; once an
// execution has ended its folder is gone (SQL: only the warm pool's two databases keep one; Python,
// started on demand here: none); at shutdown the work and spill folders and its own
// $TMPDIR/vds-sandbox-* folder are removed.
func TestTempFoldersRemoved(t *testing.T) {
	// A $TMPDIR of this test alone, so that the sandbox's own work folder (made there when the
	// sandbox user cannot reach the home, as when running as root) is seen and no other process's is.
	tmp, err := os.MkdirTemp("", "vds-tmpdir-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o711); err != nil { // the sandbox user must reach folders in it
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("VDS_SANDBOX_SQL_KEEP", "0")    // every query's database is closed after it
	t.Setenv("VDS_SANDBOX_PYTHON_POOL", "0") // every Python sandbox is started for its execution
	home := t.TempDir()
	plant := func(rel string) string { return server.PlantFile(t, home, rel) }
	stale := []string{plant("run/sandbox/sbx-1/in/t.csv"), plant("run/sandbox-sql/duck-sql-1/blocks"),
		plant("cache/sandbox/duck-sql-2/blocks"), plant("cache/sandbox/ds_a.v1.parquet.part-x")}
	cached := plant("cache/sandbox/ds_a.v1.parquet")
	deadOwn := filepath.Join(tmp, "vds-sandbox-dead")
	if err := os.MkdirAll(filepath.Join(deadOwn, "sbx-1"), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deadOwn, ".owner.lock"), nil, 0o600); err != nil { // its lock not held: its process is gone
		t.Fatal(err)
	}

	f := newFixtureAt(t, home, nil)
	p, c := f.p, f.c
	for _, s := range stale {
		if _, err := os.Stat(s); !os.IsNotExist(err) {
			t.Errorf("left by an earlier process, still there after the start: %s (%v)", s, err)
		}
	}
	if _, err := os.Stat(cached); err != nil {
		t.Errorf("a cached dataset version was removed at start: %v", err)
	}
	own, _ := filepath.Glob(filepath.Join(tmp, "vds-sandbox-*"))
	if os.Geteuid() == 0 {
		if _, err := os.Stat(deadOwn); !os.IsNotExist(err) {
			t.Errorf("a dead process's own work folder is still there after the start (%v)", err)
		}
		if len(own) != 1 {
			t.Errorf("own work folders in $TMPDIR: %v, want this service's one", own)
		}
	}
	// The folders of the sandboxes: the service's work folder, or its own in $TMPDIR.
	sandboxes := func() []string {
		a, _ := filepath.Glob(filepath.Join(home, "run", "sandbox", "sbx-*"))
		b, _ := filepath.Glob(filepath.Join(tmp, "vds-sandbox-*", "sbx-*"))
		return append(a, b...)
	}
	spills := func() []string {
		s, _ := filepath.Glob(filepath.Join(home, "run", "sandbox-sql", "duck-sql-*"))
		return s
	}

	stat := func(r *collected) *sandboxv1.Status {
		if r == nil {
			return nil
		}
		return r.status
	}
	ctx := context.Background()
	ref := upload(t, c, p.Creds.ProjectID, shareddata.Path(t, "tabular/iris.csv"))
	for i := 0; i < 3; i++ {
		res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_SQL,
			Code: "SELECT species, count(*) AS n FROM iris GROUP BY species", Inputs: []*sandboxv1.Input{{Dataset: ref, Alias: "iris"}}})
		if err != nil || stat(res).GetOutcome() != sandboxv1.Outcome_OUTCOME_OK {
			t.Fatalf("SQL: %v %v", err, stat(res))
		}
	}
	if err := server.WaitWarm(ctx); err != nil {
		t.Fatal(err)
	}
	if s := spills(); len(s) != 2 {
		t.Errorf("spill folders after three queries: %v, want the warm pool's two", s)
	}
	python := false
	res, err := execute(t, c, &sandboxv1.ExecuteRequest{ProjectId: p.Creds.ProjectID, Language: sandboxv1.Language_LANGUAGE_PYTHON,
		Code: "import os\nprint(sorted(os.listdir('/data')))", Inputs: []*sandboxv1.Input{{Dataset: ref, Alias: "iris"}}})
	switch {
	case err != nil && strings.Contains(err.Error(), "not available") && os.Getenv("CI") != "true":
		t.Logf("Python not checked: %v", err)
	case err != nil || stat(res).GetOutcome() != sandboxv1.Outcome_OUTCOME_OK:
		t.Errorf("Python: %v %v", err, stat(res))
	default:
		python = true
		var left []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if left = sandboxes(); len(left) == 0 {
				break
			}
		}
		if len(left) != 0 {
			t.Errorf("sandbox folders after the Python execution ended: %v", left)
		}
	}

	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(home, "run", "sandbox"), filepath.Join(home, "run", "sandbox-sql")} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("after the shutdown %s is still there (%v)", d, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "vds-sandbox-*")); len(left) != 0 {
		t.Errorf("own work folders in $TMPDIR after the shutdown: %v", left)
	}
	if _, err := os.Stat(cached); err != nil {
		t.Errorf("a cached dataset version was removed at shutdown: %v", err)
	}
	t.Logf("Python checked: %v", python)
}
