package server

import (
	"os"
	"path/filepath"
)

// The service's scratch folders under its home, all of them this process's alone (one sandbox
// service runs on a home: vds up locks it, and a deployed replica has its own):
//   - run/sandbox: the Python sandboxes' work folder, one sbx-* subfolder per sandbox, removed when
//     its execution ends (pysandbox). When the sandbox user cannot reach it, pysandbox works in a
//     locked $TMPDIR/vds-sandbox-* folder of its own instead, removed by its Close and, after a
//     crash, by the next start on the machine.
//   - run/sandbox-sql: DuckDB's spill folders, one duck-sql-* subfolder per database, removed when
//     the database closes (after its query, or when a kept one is dropped).
//
// Both are emptied at start (what a process that died left) and removed at shutdown (what is
// still open then: the warm databases, executions cut off at the drain's bound, closes still under
// way). The cache folder (cache/sandbox) keeps the Parquet and CSV copies of dataset versions
// across restarts; only what was being written into it (*.part-*) and the spill folders of older
// builds, which were made there (duck-sql-*), are removed at start.
const (
	workDir  = "run/sandbox"
	spillDir = "run/sandbox-sql"
	cacheDir = "cache/sandbox"
)

type scratch struct{ work, spill, cache string }

func scratchOf(home string) scratch {
	return scratch{work: filepath.Join(home, workDir), spill: filepath.Join(home, spillDir), cache: filepath.Join(home, cacheDir)}
}

// sweep removes what an earlier process left and makes the folders; it returns what it removed.
func (sc scratch) sweep() ([]string, error) {
	var removed []string
	for _, d := range []string{sc.work, sc.spill} {
		if ents, err := os.ReadDir(d); err == nil {
			for _, e := range ents {
				p := filepath.Join(d, e.Name())
				if os.RemoveAll(p) == nil {
					removed = append(removed, p)
				}
			}
		}
	}
	for _, pat := range []string{"duck-sql-*", "*.part-*"} {
		left, _ := filepath.Glob(filepath.Join(sc.cache, pat))
		for _, p := range left {
			if os.RemoveAll(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	for _, d := range []string{sc.cache, sc.spill} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// remove removes the work and spill folders (at shutdown, once nothing uses them).
func (sc scratch) remove() {
	os.RemoveAll(sc.work)
	os.RemoveAll(sc.spill)
}
