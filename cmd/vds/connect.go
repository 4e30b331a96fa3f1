package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/services/mesh"
)

// connFlags are the flags of every command that talks to a platform.
type connFlags struct{ server, apiKey, project string }

func (c *connFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "gRPC address of a running platform (vds up); empty starts an embedded platform for this run")
	fs.StringVar(&c.apiKey, "api-key", "", "API key for --server (default: the key `vds up` saved under --home)")
	fs.StringVar(&c.project, "project", "", "project ID to work in (default: the API key's project)")
}

// connect dials the platform every command talks to: --server with --api-key (or the key `vds up`
// saved under --home), or, without --server, an embedded platform started for this command (or the
// `vds up` that already holds --home). It returns the client, the project to work in and a stop
// function for the embedded platform.
func connect(ctx context.Context, pf *platformFlags, cf *connFlags, bar *progress) (*client.Client, string, func(), error) {
	server, key, project := cf.server, cf.apiKey, cf.project
	stop := func() {}
	if server != "" {
		if err := checkServerAddr(server); err != nil {
			return nil, "", stop, err
		}
	}
	home, err := filepath.Abs(pf.home)
	if err != nil {
		return nil, "", stop, err
	}
	addr := server
	if addr == "" {
		p, creds, err := startEmbedded(ctx, pf, home, bar)
		switch {
		case errors.Is(err, mesh.ErrLocked) && creds != nil && creds.GRPCAddr != "":
			bar.note(fmt.Sprintf("a vds platform is already running with home %s: using it at %s", home, creds.GRPCAddr))
			addr = creds.GRPCAddr
		case err != nil:
			return nil, "", stop, err
		default:
			stop = func() { p.Stop() }
			addr = p.GRPCAddr
		}
		if key == "" && creds != nil {
			key = creds.APIKey
		}
		if project == "" && creds != nil {
			project = creds.ProjectID
		}
	}
	if key == "" {
		creds, err := mesh.LoadCredentials(home)
		if err != nil {
			stop()
			return nil, "", func() {}, fmt.Errorf("no API key for %s: pass --api-key (or VDS_API_KEY), or use the --home of the `vds up` that serves it (%v)", addr, err)
		}
		key = creds.APIKey
		if project == "" {
			project = creds.ProjectID
		}
	}
	// An address where HTTP/1 answers (the gateway's port) fails every call with "http2: frame too
	// large": say instead that it looks like the HTTP port, and which address is the gRPC one.
	known := ""
	if creds, err := mesh.LoadCredentials(home); err == nil {
		known = creds.GRPCAddr
	}
	c, err := client.Dial(ctx, addr, client.WithAPIKey(key), client.WithDialOptions(httpPortInterceptors(addr, known)...))
	if err != nil {
		stop()
		return nil, "", func() {}, err
	}
	if project == "" {
		if project, err = defaultProject(ctx, c); err != nil {
			c.Close()
			stop()
			if hint := (*httpPortError)(nil); errors.As(err, &hint) {
				return nil, "", func() {}, hint
			}
			return nil, "", func() {}, err
		}
	}
	return c, project, stop, nil
}

// embedded is a platform started for one command, with its log file.
type embedded struct {
	*mesh.Platform
	log *os.File
}

// Stop stops the platform, then closes its log.
func (e *embedded) Stop() error {
	err := e.Platform.Stop()
	e.log.Close()
	return err
}

// startEmbedded runs the platform in this process for one command; its logs go to home/logs.
// When another process holds the home, it returns mesh.ErrLocked with that platform's credentials.
func startEmbedded(ctx context.Context, pf *platformFlags, home string, bar *progress) (*embedded, *mesh.Credentials, error) {
	if err := os.MkdirAll(filepath.Join(home, "logs"), 0o700); err != nil {
		return nil, nil, err
	}
	lf, err := os.OpenFile(filepath.Join(home, "logs", "vds.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	o, err := pf.options(logging.New(lf, "json", pf.logLevel))
	if err != nil {
		lf.Close()
		return nil, nil, err
	}
	o.Home, o.GRPCAddr, o.HTTPAddr = home, "127.0.0.1:0", "127.0.0.1:0"
	bar.stage("start platform", 0)
	p, err := mesh.Up(ctx, o)
	if err != nil {
		lf.Close()
		if errors.Is(err, mesh.ErrLocked) {
			creds, _ := mesh.LoadCredentials(home)
			return nil, creds, err
		}
		return nil, nil, fmt.Errorf("start the embedded platform (logs in %s): %w", lf.Name(), err)
	}
	return &embedded{p, lf}, p.Creds, nil
}

func defaultProject(ctx context.Context, c *client.Client) (string, error) {
	me, err := c.Auth.WhoAmI(ctx, &authv1.WhoAmIRequest{})
	if err != nil {
		return "", fmt.Errorf("check the API key: %w", err)
	}
	if len(me.Projects) == 0 {
		return "", errors.New("the API key's user has no project: create one or pass --project")
	}
	return me.Projects[0].Id, nil
}
