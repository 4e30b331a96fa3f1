package pysandbox

import (
	"strings"
	"testing"
)

// TestTracebackShowsOnlyUserFrames: the traceback of an uncaught exception shows the user's code
// (<code>) and the libraries it called, not the runner's own frames (/opt/vds/runner.py, which
// came first in every traceback and in the vds helpers' errors); the exception and its message,
// chained exceptions included, are kept.
func TestTracebackShowsOnlyUserFrames(t *testing.T) {
	s := testSandbox(t)
	for _, c := range []struct {
		name, code, want, message string
	}{
		{"user code", "def f(x):\n    return 1 / x\n\nf(0)\n",
			"Traceback (most recent call last):\n" +
				"  File \"<code>\", line 4, in <module>\n    f(0)\n" +
				"  File \"<code>\", line 2, in f\n    return 1 / x\n" +
				"           ~~^~~\n" +
				"ZeroDivisionError: division by zero\n",
			"ZeroDivisionError: division by zero"},
		// An error raised inside a vds helper (runner.py's code) shows the user's call only.
		{"vds helper", "import vds\nvds.path(\"nope\")\n",
			"Traceback (most recent call last):\n" +
				"  File \"<code>\", line 2, in <module>\n    vds.path(\"nope\")\n" +
				"KeyError: \"no input named 'nope'; inputs are: none\"\n",
			"KeyError: \"no input named 'nope'; inputs are: none\""},
		{"chained", "try:\n    {}['k']\nexcept KeyError as e:\n    raise ValueError('bad key') from e\n",
			"Traceback (most recent call last):\n" +
				"  File \"<code>\", line 2, in <module>\n    {}['k']\n    ~~^^^^^\n" +
				"KeyError: 'k'\n\n" +
				"The above exception was the direct cause of the following exception:\n\n" +
				"Traceback (most recent call last):\n" +
				"  File \"<code>\", line 4, in <module>\n    raise ValueError('bad key') from e\n" +
				"ValueError: bad key\n",
			"ValueError: bad key"},
		// A library's frames stay: they are the path from the user's call to the error.
		{"library", "import json\njson.loads('{')\n", "", "JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, _, stderr := run(t, s, c.code, Limits{})
			if res.Outcome != Error || res.Message != c.message {
				t.Errorf("outcome %s, message %q; want error %q", res.Outcome, res.Message, c.message)
			}
			if strings.Contains(stderr, "runner.py") || strings.Contains(stderr, "/opt/vds") {
				t.Errorf("stderr shows the runner's frames:\n%s", stderr)
			}
			if c.want != "" && stderr != c.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, c.want)
			}
			if c.name == "library" && (!strings.Contains(stderr, "  File \"<code>\", line 2, in <module>\n") || !strings.Contains(stderr, "json/decoder.py")) {
				t.Errorf("stderr lacks the user's line or the library's frames:\n%s", stderr)
			}
		})
	}
}
