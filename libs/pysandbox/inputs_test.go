package pysandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestInputFormats: the probe finds the Parquet reader the host's Debian interpreter has (none
// on bookworm), and vds.load reads an input by name whichever format it was given in. A CSV input
// comes back with the column types CSV loses (text that looks numeric, nullable booleans,
// timestamps) restored from its column hints; a Parquet input goes to pandas.read_parquet.
func TestInputFormats(t *testing.T) {
	s := testSandbox(t)
	if _, err := os.Stat("/usr/lib/python3/dist-packages/pandas"); err != nil {
		t.Skip("python3-pandas is not installed")
	}
	// The reader the interpreter really has, asked outside the sandbox.
	out, err := exec.Command(s.cfg.Python, "-I", "-c", "import importlib.util as u; print(*[m for m in ('pyarrow', 'fastparquet') if u.find_spec(m)][:1])").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); s.ParquetReader() != want {
		t.Errorf("ParquetReader() = %q, want %q", s.ParquetReader(), want)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(csvPath, []byte("flag,zip,at,n\ntrue,01234,2024-01-01 10:00:00,1\n,00042,,2\nfalse,98765,2024-01-02 00:00:00,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pqPath := filepath.Join(dir, "p.parquet")
	if err := os.WriteFile(pqPath, []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	code := `import vds
df = vds.load("t")
print(vds.inputs(), vds.format("t"), vds.format("p"))
print(",".join(str(d) for d in df.dtypes))
print(df.zip.tolist(), df.flag.isna().tolist(), df.at[0, "at"].isoformat())
try:
    vds.load("p")
except ImportError as e:
    print("parquet: ImportError")
except Exception as e:
    print("parquet:", type(e).__name__)
`
	var stdout, stderr strings.Builder
	res, err := s.Run(context.Background(), Job{Code: code, Inputs: []Input{
		{Alias: "t", Name: "t.csv", Path: csvPath, Columns: map[string]string{"flag": "boolean", "zip": "str", "at": "datetime"}},
		{Alias: "p", Name: "p.parquet", Path: pqPath}},
		Stdout: func(b []byte) { stdout.Write(b) }, Stderr: func(b []byte) { stderr.Write(b) }})
	if err != nil || res.Outcome != OK {
		t.Fatalf("%v %+v\n%s", err, res, stderr.String())
	}
	parquet := "parquet: ImportError" // pandas without pyarrow or fastparquet
	if s.ParquetReader() != "" {
		parquet = "parquet: ArrowInvalid" // a reader is there, and the file is not Parquet
	}
	want := "['p', 't'] csv parquet\nboolean,object,datetime64[ns],float64\n['01234', '00042', '98765'] [False, True, False] 2024-01-01T10:00:00\n"
	if got := stdout.String(); !strings.HasPrefix(got, want) || (s.ParquetReader() == "" && !strings.Contains(got, parquet)) {
		t.Errorf("stdout:\n%s\nwant:\n%s%s", got, want, parquet)
	}
}

// TestSaveNames: vds.save refuses a name that is not a plain output name (it used to write a file
// the host then dropped, or fail in pandas with a path error) with a ValueError that says what a
// name may be, and a TypeError for a name that is not a string; a good name becomes /out/<name>.csv.
func TestSaveNames(t *testing.T) {
	s := testSandbox(t)
	code := `import vds
class DF:
    def to_csv(self, path, index=False):
        open(path, "w").write("a\n1\n")
for name in ["..", "a/b", "", ".hidden", "../x", "a.", "x" * 125, "ok\n", 3]:
    try:
        vds.save(DF(), name)
        print(repr(name), "saved")
    except (ValueError, TypeError) as e:
        print(repr(name), type(e).__name__, "valid output name" in str(e) or "must be a string" in str(e))
vds.save(DF(), "x" * 124)
vds.save(DF(), "summary")
vds.save(DF(), "report.csv")
vds.save(DF(), "..")
`
	var stdout, stderr strings.Builder
	res, err := s.Run(context.Background(), Job{Code: code, Stdout: func(b []byte) { stdout.Write(b) }, Stderr: func(b []byte) { stderr.Write(b) }})
	if err != nil {
		t.Fatal(err)
	}
	want := "'..' ValueError True\n'a/b' ValueError True\n'' ValueError True\n'.hidden' ValueError True\n'../x' ValueError True\n'a.' ValueError True\n'" +
		strings.Repeat("x", 125) + "' ValueError True\n'ok\\n' ValueError True\n3 TypeError True\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	// The last, uncaught refusal ends the execution with the exception as its message; the files
	// saved before it are there (the host collects outputs of successful executions only).
	if res.Outcome != Error || !strings.HasPrefix(res.Message, "ValueError: vds.save: '..' is not a valid output name") || !strings.Contains(stderr.String(), "ValueError") {
		t.Errorf("outcome %s, message %q, stderr %s", res.Outcome, res.Message, stderr.String())
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Name)
	}
	// "report.csv" is written as report.csv, not report.csv.csv.
	if want := []string{"report.csv", "summary.csv", strings.Repeat("x", 124) + ".csv"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
}
