// Package config binds command-line flags to VDS_* environment variables: a flag given on the
// command line wins, then the environment, then the default. Every service and the CLI use it, so the
// one configuration table in the README holds everywhere.
package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnvName is the environment variable for a flag: "postgres-url" -> "VDS_POSTGRES_URL".
func EnvName(flagName string) string {
	return "VDS_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// Setting names a service setting for a message, as a service's flag and as the variable that sets
// it under vds up (which takes no service flags): "--max-upload-bytes, or VDS_MAX_UPLOAD_BYTES under
// vds up".
func Setting(flagName string) string {
	name := strings.TrimLeft(flagName, "-")
	return "--" + name + ", or " + EnvName(name) + " under vds up"
}

// Parse parses args into fs and then applies VDS_* variables to flags not set on the command line.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return ApplyEnv(fs)
}

// ApplyEnv sets each flag that was not given explicitly from its VDS_* variable, if present.
func ApplyEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", EnvName(f.Name), v, e)
				if g, ok := f.Value.(flag.Getter); ok {
					if _, isDur := g.Get().(time.Duration); isDur {
						err = fmt.Errorf("environment %s=%q: not a duration: give a number with a unit, such as 30s, 5m or 1h30m", EnvName(f.Name), v)
					}
				}
			}
		}
	})
	return err
}

// DefaultHome is the state directory used when --home is not given: $VDS_HOME or ~/.vds.
func DefaultHome() string {
	if h := os.Getenv("VDS_HOME"); h != "" {
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".vds")
	}
	return ".vds"
}

// Usage prints flags with their environment variable names.
func Usage(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "%s\n\nFlags (each also settable as an environment variable):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(out, "  --%s  [%s]%s\n      %s\n", f.Name, EnvName(f.Name), def, f.Usage)
		})
	}
}
