package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/shareddata"
)

// TestExportCommand analyses iris, then writes the best model with vds export as ONNX and as the
// signed artifact.
func TestExportCommand(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"export"}, "one model ID"},
		{[]string{"export", "ds_123"}, "not a model ID"},
		{[]string{"export", "mdl_01a23fe82c007d5db92317d229925030", "--format", "pmml"}, "--format must be one of onnx, vds"},
	} {
		if code, _, errs := cli(t, 10*time.Second, c.args...); code != 2 || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, code, errs, c.msg)
		}
	}
	rep := analyzeJSON(t, shareddata.Path(t, "tabular/iris.csv"), "species", "--budget", "2s")
	home, addr := platform(t)
	dir := t.TempDir()
	for _, f := range []string{"onnx", "vds"} {
		out := filepath.Join(dir, "model."+f)
		o := map[string]string{"onnx": "-o", "vds": "--output"}[f] // the shorthand and the long flag
		code, stdout, errs := cli(t, time.Minute, "export", rep.Model.Id, "--format", f, o, out, "--server", addr, "--home", home)
		if f == "onnx" && code == 1 && strings.Contains(errs, "knn models: cannot be exported to ONNX") {
			// k-NN (alone or as an ensemble member) has no ONNX form, and the refusal says so
			t.Logf("best model %s holds a k-NN model: %s", rep.Model.Algorithm, errs)
			continue
		}
		if code != 0 || !strings.Contains(stdout, "wrote "+out) {
			t.Fatalf("export %s: exit %d, stdout %q, stderr %q", f, code, stdout, errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if f == "onnx" && (len(b) == 0 || b[0] != 0x08 || !bytes.Contains(b, []byte("ai.onnx.ml")) || !bytes.Contains(b, []byte("virginica"))) {
			t.Errorf("ONNX file of %d bytes is not a ModelProto with the iris classes", len(b))
		}
		if f == "vds" && !bytes.Contains(b, []byte("sha256:")) {
			t.Errorf("signed artifact of %d bytes has no digest", len(b))
		}
	}
}
