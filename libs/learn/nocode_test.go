package learn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Deserializers of executable content. The names are assembled from pieces so this file does not
// match its own scan.
var (
	// Go packages that decode values of arbitrary (registered) types, load native code, or interpret code.
	forbiddenImports = map[string]string{
		"encoding/" + "gob":                        "gob decodes registered types (the analogue of pickle); models are protobuf data",
		"plu" + "gin":                              "Go plugins load native code",
		"github.com/nlpodyssey/go" + "pickle":      "Python pickle decoder",
		"github.com/hydrogen18/stale" + "cucumber": "Python pickle decoder",
		"github.com/kisielk/og-" + "rek":           "Python pickle decoder",
		"github.com/traefik/" + "yaegi":            "Go interpreter",
		"github.com/dop251/" + "goja":              "JavaScript interpreter",
		"github.com/robertkrimen/" + "otto":        "JavaScript interpreter",
		"github.com/yuin/gopher-" + "lua":          "Lua interpreter",
	}
	// Python (embedded in Go strings, or in the repository's Python scripts) that unpickles.
	pyUnpickle = regexp.MustCompile(`\b(c?` + `pick` + `le|cloud` + `pick` + `le|di` + `ll|job` + `lib|tor` + `ch|shel` + `ve)\.(load|loads|Unpick` + `ler|open)\b|allow_` + `pick` + `le\s*=\s*True`)
)

// scanGo reports the forbidden imports and unpickling string literals of one Go source.
func scanGo(name string, src []byte) []string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return []string{name + ": does not parse: " + err.Error()}
	}
	var out []string
	for _, im := range file.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if why, bad := forbiddenImports[p]; bad {
			out = append(out, fset.Position(im.Pos()).String()+": imports "+p+" ("+why+")")
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && pyUnpickle.MatchString(lit.Value) {
			out = append(out, fset.Position(lit.Pos()).String()+": string runs an unpickler: "+pyUnpickle.FindString(lit.Value))
		}
		return true
	})
	return out
}

func scanPython(name string, src []byte) []string {
	var out []string
	for i, line := range strings.Split(string(src), "\n") {
		if m := pyUnpickle.FindString(line); m != "" {
			out = append(out, name+":"+strconv.Itoa(i+1)+": unpickles: "+m)
		}
	}
	return out
}

func TestScannerDetects(t *testing.T) {
	cases := []struct {
		name, src string
		python    bool
		bad       bool
	}{
		{"gob import", "package x\nimport \"encoding/" + "gob\"\n", false, true},
		{"plugin import", "package x\nimport p \"plu" + "gin\"\nvar _ = p.Open\n", false, true},
		{"pickle in a Go string", "package x\nconst code = `import pick" + "le\nm = pick" + "le.load(open('m.pkl','rb'))`\n", false, true},
		{"joblib in a script", "import job" + "lib\nm = job" + "lib.load('m.joblib')\n", true, true},
		{"numpy allow pickle", "x = np.load('a.npy', allow_" + "pickle=True)\n", true, true},
		{"protobuf is fine", "package x\nimport \"google.golang.org/protobuf/proto\"\nvar _ = proto.Unmarshal\n", false, false},
		{"word pickle alone is fine", "package x\n// no pickling here\nconst s = \"we never use pickles\"\n", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			if c.python {
				got = scanPython("t.py", []byte(c.src))
			} else {
				got = scanGo("t.go", []byte(c.src))
			}
			if (len(got) > 0) != c.bad {
				t.Fatalf("findings %v, want bad=%v", got, c.bad)
			}
		})
	}
}

// repoRoot is the folder holding go.work above the package.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the test")
		}
		dir = parent
	}
}

// TestNoExecutableDeserialization scans every Go file (generated code included) and Python script in
// the repository: nothing may import a decoder of arbitrary types (gob), a plugin loader or a code
// interpreter, and no embedded or shipped Python may unpickle. Models travel only as data-only
// protobuf (vds.ml.v1.ModelArtifact inside a SignedModelArtifact).
func TestNoExecutableDeserialization(t *testing.T) {
	root := repoRoot(t)
	files := 0
	var findings []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "third_party", "bin", ".cache":
				return filepath.SkipDir
			}
			return nil
		}
		isGo, isPy := strings.HasSuffix(path, ".go"), strings.HasSuffix(path, ".py")
		if !isGo && !isPy {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		if isGo {
			findings = append(findings, scanGo(rel, src)...)
		} else {
			findings = append(findings, scanPython(rel, src)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d files under %s: the walk missed the repository", files, root)
	}
	for _, f := range findings {
		t.Error(f)
	}
	t.Logf("scanned %d Go and Python files", files)
}
