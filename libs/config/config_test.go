package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// TestApplyEnv: a VDS_* variable sets a flag not given on the command line; a duration without a
// unit is refused saying what a duration looks like; a flag given explicitly wins.
func TestApplyEnv(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	budget := fs.Duration("budget", time.Minute, "")
	name := fs.String("name", "x", "")
	t.Setenv("VDS_BUDGET", "90s")
	t.Setenv("VDS_NAME", "from-env")
	if err := Parse(fs, []string{"--name", "flag"}); err != nil {
		t.Fatal(err)
	}
	if *budget != 90*time.Second || *name != "flag" {
		t.Errorf("budget %v name %q; want 1m30s from the environment and the flag's name", *budget, *name)
	}
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	fs2.Duration("budget", time.Minute, "")
	t.Setenv("VDS_BUDGET", "5")
	err := Parse(fs2, nil)
	if err == nil || !strings.Contains(err.Error(), `environment VDS_BUDGET="5": not a duration: give a number with a unit, such as 30s`) {
		t.Errorf("VDS_BUDGET=5: %v", err)
	}
	if Setting("--max-upload-bytes") != "--max-upload-bytes, or VDS_MAX_UPLOAD_BYTES under vds up" {
		t.Errorf("Setting = %q", Setting("--max-upload-bytes"))
	}
}
