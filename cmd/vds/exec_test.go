package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

func TestTableName(t *testing.T) {
	for in, want := range map[string]string{"tips.csv": "tips", "dir/Sales 2024.tar.gz": "Sales_2024", "2024.csv": "t_2024", "a-b.parquet": "a_b"} {
		if got := tableName(in); got != want {
			t.Errorf("tableName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExec runs `vds exec` against a running platform: SQL and Python over tips.csv, the JSON
// shape, the exit status of a stopped execution and the usage errors.
func TestExec(t *testing.T) {
	home, addr := platform(t)
	tips := shareddata.Path(t, "tabular/tips.csv")
	base := []string{"exec", tips, "--server", addr, "--home", home, "--format", "json"}
	type out struct {
		Stdout string `json:"stdout"`
		Tables []struct {
			Rows    []map[string]any `json:"rows"`
			SavedAs *struct {
				DatasetID string `json:"dataset_id"`
			} `json:"saved_as"`
		} `json:"tables"`
		Status struct {
			Outcome string `json:"outcome"`
		} `json:"status"`
	}
	parse := func(s string) out {
		var o out
		if err := json.Unmarshal([]byte(s), &o); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return o
	}
	// pandas: tips.groupby("smoker").size() -> No 151, Yes 93 (ingestion reads Yes/No as a boolean).
	code, stdout, stderr := cli(t, time.Minute, append(base, "--sql", "SELECT smoker, count(*) AS n FROM tips GROUP BY smoker ORDER BY smoker", "--save")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := parse(stdout)
	if len(o.Tables) != 2 || len(o.Tables[0].Rows) != 2 || o.Tables[0].Rows[0]["smoker"] != false || o.Tables[0].Rows[0]["n"] != float64(151) ||
		o.Tables[0].Rows[1]["n"] != float64(93) || o.Tables[1].SavedAs == nil {
		t.Errorf("sql result %+v", o)
	}
	code, stdout, stderr = cli(t, time.Minute, append(base, "--python", "import vds\nprint(len(vds.load('tips')))")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if o := parse(stdout); o.Stdout != "244\n" || o.Status.Outcome != "OUTCOME_OK" {
		t.Errorf("python result %+v", o)
	}
	// --artifacts DIR saves the figure and the Vega-Lite spec exactly as the sandbox wrote them
	// (their SHA-256, computed inside the sandbox, is printed on stdout).
	dir := filepath.Join(t.TempDir(), "art")
	chart := `import vds, json, hashlib
import matplotlib.pyplot as plt
by = vds.load("tips").groupby("day", as_index=False).tip.sum()
plt.bar(by.day, by.tip)
plt.savefig("tips.png")
with open("tips.vl.json", "w") as f:
    json.dump({"mark": "bar", "data": {"values": by.to_dict("records")}}, f)
for n in ("tips.png", "tips.vl.json"):
    print(n, hashlib.sha256(open(n, "rb").read()).hexdigest())
`
	code, stdout, stderr = cli(t, time.Minute, append(base, "--python", chart, "--artifacts", dir)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o = parse(stdout)
	for _, name := range []string{"tips.png", "tips.vl.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		sum := sha256.Sum256(b)
		if err != nil || !strings.Contains(o.Stdout, name+" "+hex.EncodeToString(sum[:])+"\n") {
			t.Errorf("--artifacts %s: %v, sha256 %x; the sandbox printed %q", name, err, sum, o.Stdout)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Errorf("--artifacts folder holds %d entries, want the 2 artifacts", len(left))
	}
	code, stdout, _ = cli(t, time.Minute, append(base, "--python", "import time\ntime.sleep(60)", "--timeout", "1s")...)
	if o := parse(stdout); code == 0 || o.Status.Outcome != "OUTCOME_TIMEOUT" {
		t.Errorf("timeout: exit %d, %+v", code, o)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", tips}, "exactly one of --sql"},
		{[]string{"exec", tips, "--sql", "SELECT 1", "--python", "print(1)"}, "exactly one of --sql"},
		{[]string{"exec", "--sql", "SELECT 1"}, "at least one data file"},
		{[]string{"exec", "no-such-file.csv", "--python", "print(1)", "--server", addr, "--home", home}, "neither a readable file nor a dataset ID"},
		// Refused by the service (code over its size limit), and still recorded.
		{[]string{"exec", tips, "--sql", "SELECT 1" + strings.Repeat(" ", 100000), "--server", addr, "--home", home}, "(recorded as execution exe_"},
	} {
		code, _, stderr := cli(t, time.Minute, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
