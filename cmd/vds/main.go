// Command vds is the command-line interface of the vds platform.
//
//	vds up                                   run every service in one process (embedded NATS, SQLite, local objects)
//	vds analyze FILE --target COL [...]      upload, ingest, profile, train, rank drivers and summarise findings
//	vds version                              print the version
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
	"strings"
	"syscall"

	"github.com/vdsproject/vds/libs/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

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
	switch args[0] {
	case "up":
		err = cmdUp(ctx, args[1:], stdout, stderr)
	case "analyze":
		err = cmdAnalyze(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "vds", version)
	case "help", "-h", "--help":
		printUsage(stdout)
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "vds: %s\nRun 'vds help' for the commands, or 'vds %s --help' for a command's flags.\n", ue.msg, args[0])
		return 2
	default:
		fmt.Fprintf(stderr, "vds: %s\n", err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `vds — a virtual data scientist.

Usage:
  vds up [flags]                         run the whole platform in one process (embedded defaults)
  vds analyze FILE --target COL [flags]  analyse a data file: profile, models, drivers, findings
  vds version                            print the version

State lives under --home (default ~/.vds or $VDS_HOME). Every flag can also be set as an
environment variable VDS_<FLAG> (for example --grpc-addr as VDS_GRPC_ADDR).
Run 'vds COMMAND --help' for a command's flags.
`)
}

// parseInterspersed parses flags that may come before or after positional arguments
// ("vds analyze data.csv --target y"), then applies VDS_* environment variables.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
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
	return pos, config.ApplyEnv(fs)
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = config.Usage(fs, synopsis)
	return fs
}

// oneOf checks an enumerated flag value.
func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageError{fmt.Sprintf("--%s must be one of %s, not %q", name, strings.Join(allowed, ", "), v)}
}
