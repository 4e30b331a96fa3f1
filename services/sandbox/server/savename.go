package server

import (
	"fmt"
	"regexp"
	"strings"

	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/grpcx"
)

// saveNameRE is what a chosen dataset name for a saved SQL result may be.
var saveNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_. -]{0,99}$`)

// checkSaveName refuses a save_name that cannot name the saved result: with Python (whose code
// names its output tables), without save_result, or not a plain name.
func checkSaveName(req *sandboxv1.ExecuteRequest) error {
	n := req.SaveName
	switch {
	case n == "":
		return nil
	case req.Language == sandboxv1.Language_LANGUAGE_PYTHON:
		return grpcx.InvalidArgument("save_name", `names the saved result of a SQL query; a Python execution names each output table in its code: vds.save(df, "NAME")`)
	case !req.SaveResult:
		return grpcx.InvalidArgument("save_name", "is the name of the saved result: set save_result too")
	case !saveNameRE.MatchString(n) || strings.HasSuffix(n, " ") || strings.Contains(n, ".."):
		return grpcx.InvalidArgument("save_name", fmt.Sprintf("%q is not a dataset name: use 1 to 100 letters, digits, '_', '.', '-' or spaces, starting with a letter, digit or '_', not ending with a space, without '..'", n))
	}
	return nil
}

// saveFileName is the file name the saved result is uploaded as: the chosen name with the
// extension that says it is Parquet.
func saveFileName(name string) string {
	if strings.HasSuffix(strings.ToLower(name), ".parquet") {
		return name
	}
	return name + ".parquet"
}
