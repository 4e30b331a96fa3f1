package pysandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
