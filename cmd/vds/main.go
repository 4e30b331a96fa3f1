// Command vds is the command-line interface of the vds platform.
//
//	vds up                                    run every service in one process (embedded NATS, SQLite, local objects)
//	vds analyze FILE_OR_DATASET_ID --target COL  upload and ingest (a file), profile, train, rank drivers and summarise findings
//	vds ask, effect, exec, export, migrate    see vds help
//	vds version                               print the version
//
// State lives under --home (default ~/.vds, or $VDS_HOME), shared by all commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vdsproject/vds/libs/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand; each lives in its own file and registers itself in init.
type command struct {
	usage string // "analyze FILE --target COL [flags]"
	help  string // one line
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

func init() {
	register("up", command{"up [flags]", "run the whole platform in one process (embedded defaults)", cmdUp})
	register("analyze", command{"analyze FILE_OR_DATASET_ID --target COL [flags]", "analyse a data file or dataset: profile, models, drivers, findings", cmdAnalyze})
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// reportedError ends a command whose failure it already wrote out (exit status 1, nothing more printed).
type reportedError struct{}

func (reportedError) Error() string { return "failed (reported above)" }

// interruptedError ends a command stopped by Ctrl-C or SIGTERM (exit status 130, like a shell's);
// msg, when set, says what became of the work it had started.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string {
	if e.msg == "" {
		return "interrupted"
	}
	return "interrupted; " + e.msg
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	var err error
	switch cmd, ok := commands[args[0]]; {
	case ok:
		err = cmd.run(ctx, args[1:], stdout, stderr)
	case args[0] == "version" || args[0] == "--version":
		fmt.Fprintln(stdout, "vds", version)
	case (args[0] == "help" || args[0] == "-h" || args[0] == "--help") && len(args) > 1:
		if cmd, ok := commands[args[1]]; ok { // vds help analyze = vds analyze --help
			err = cmd.run(ctx, []string{"--help"}, stdout, stdout)
		} else {
			err = usageError{fmt.Sprintf("no help for %q: it is not a command", args[1])}
		}
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		printUsage(stdout)
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(reportedError)):
		return 1
	case errors.As(err, new(interruptedError)):
		fmt.Fprintf(stderr, "vds: %s\n", err)
		return 130
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if _, known := commands[args[0]]; known {
			fmt.Fprintf(stderr, "vds: %s\nRun 'vds %s --help' for its flags.\n", ue.msg, args[0])
		} else {
			fmt.Fprintf(stderr, "vds: %s\nRun 'vds help' for the commands.\n", ue.msg)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "vds: %s\n", err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "vds — a virtual data scientist.\n\nUsage:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return commandOrder(names[i]) < commandOrder(names[j]) })
	for _, n := range names {
		if u := commands[n].usage; len([]rune(u)) > 40 { // the help on the next line, under the others'
			fmt.Fprintf(w, "  vds %s\n  %-44s %s\n", u, "", commands[n].help)
		} else {
			fmt.Fprintf(w, "  vds %-40s %s\n", u, commands[n].help)
		}
	}
	fmt.Fprintf(w, "  vds %-40s %s\n", "version", "print the version")
	fmt.Fprint(w, `
State lives under --home (default ~/.vds or $VDS_HOME). Every flag can also be set as an
environment variable VDS_<FLAG> (for example --grpc-addr as VDS_GRPC_ADDR).
Run 'vds COMMAND --help' for a command's flags.
`)
}

// parseInterspersed parses flags that may come before or after positional arguments
// ("vds analyze data.csv --target y"), then applies VDS_* environment variables.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	out := fs.Output()
	fs.SetOutput(io.Discard) // errors are reported once, by run; usage only on --help
	defer fs.SetOutput(out)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				fs.Usage()
				return nil, err
			}
			return nil, usageError{durationHint(fs, longFlagNames(err.Error()))}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// A shorthand given (-o FILE) sets its long flag too, so the long flag's variable
	// (VDS_OUTPUT) does not override the command line.
	var given []*flag.Flag
	fs.Visit(func(f *flag.Flag) { given = append(given, f) })
	for _, f := range given {
		if long, ok := strings.CutPrefix(f.Usage, shortFor); ok {
			if err := fs.Set(long, f.Value.String()); err != nil {
				return nil, usageError{err.Error()}
			}
		}
	}
	return pos, config.ApplyEnv(fs)
}

// badFlagRE finds the flag of an "invalid value" error.
var badFlagRE = regexp.MustCompile(`invalid value "[^"]*" for flag --([A-Za-z][\w-]*): parse error$`)

// durationHint turns the flag package's bare "parse error" for a duration flag into what a duration
// looks like: --budget 5 needs a unit.
func durationHint(fs *flag.FlagSet, msg string) string {
	m := badFlagRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	if f := fs.Lookup(m[1]); f != nil {
		if g, ok := f.Value.(flag.Getter); ok && reflect.TypeOf(g.Get()) == reflect.TypeOf(time.Duration(0)) {
			return strings.TrimSuffix(msg, "parse error") + "not a duration: give a number with a unit, such as 30s, 5m or 1h30m"
		}
	}
	return msg
}

// flagNameRE finds the flag names in the flag package's errors ("flag needs an argument: -target",
// "invalid value \"x\" for flag -budget: …"), which it writes with one dash.
var flagNameRE = regexp.MustCompile(`(: |flag |for )-([A-Za-z])`)

// longFlagNames writes the flag names in a flag package error as --name, the way the help and
// every other message of the CLI write them.
func longFlagNames(msg string) string { return flagNameRE.ReplaceAllString(msg, "${1}--${2}") }

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage(fs, synopsis)
	return fs
}

// shortFor starts the usage of a one-letter flag that is another name of a long one.
const shortFor = "short for --"

// shorthand makes -short another name of the flag --long (defined before).
func shorthand(fs *flag.FlagSet, short, long string) {
	fs.Var(fs.Lookup(long).Value, short, shortFor+long)
}

// usage prints the flags the way config.Usage does (--name, its environment variable, its
// default), with a shorthand beside its long flag ("-o, --output") instead of as a flag of its own.
func usage(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		out := fs.Output()
		shorts := map[string]string{}
		fs.VisitAll(func(f *flag.Flag) {
			if long, ok := strings.CutPrefix(f.Usage, shortFor); ok {
				shorts[long] = f.Name
			}
		})
		fmt.Fprintf(out, "%s\n\nFlags (each also settable as an environment variable):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			if strings.HasPrefix(f.Usage, shortFor) {
				return
			}
			name := "--" + f.Name
			if s := shorts[f.Name]; s != "" {
				name = "-" + s + ", " + name
			}
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(out, "  %s  [%s]%s\n      %s\n", name, config.EnvName(f.Name), def, f.Usage)
		})
	}
}

// oneOf checks an enumerated flag value. A flag that may also be left out uses oneOfOrDefault,
// so that the message never lists an empty value.
func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageError{fmt.Sprintf("--%s must be one of %s, not %q", name, strings.Join(allowed, ", "), v)}
}

// oneOfOrDefault checks an enumerated flag value that may be left out (empty): dflt says what the
// empty value means ("ate", "llm when the server has an LLM endpoint, else builtin").
func oneOfOrDefault(name, v, dflt string, allowed ...string) error {
	if v == "" || oneOf(name, v, allowed...) == nil {
		return nil
	}
	return usageError{fmt.Sprintf("--%s must be one of %s, not %q; leave it out for the default (%s)", name, strings.Join(allowed, ", "), v, dflt)}
}

// oneCountRE finds "1 rows" and the like in text written by a service ("1 rows", "(truncated at the
// limit of 1 rows)", "1 rows x 3 columns"): not "11 rows", "0.1 rows" or "-1 rows".
var oneCountRE = regexp.MustCompile(`(^|[^0-9.,\-])1 (row|column|file|dataset|value|byte)s\b`)

// fixCounts makes the counts in a service's text singular where they are 1 before it is shown;
// the services' messages are formatted with a plural noun after any count.
func fixCounts(s string) string {
	return oneCountRE.ReplaceAllString(s, "${1}1 ${2}")
}

// commandOrder lists the main commands first, the rest by name.
func commandOrder(name string) string {
	switch name {
	case "up":
		return "0"
	case "analyze":
		return "1"
	}
	return "2" + name
}
