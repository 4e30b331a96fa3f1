package server

import (
	"context"
	"flag"
	"fmt"
	"time"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/passwords"
	"github.com/vdsproject/vds/libs/platform"
)

// Settings are the auth service's own configuration (flags of the standalone binary, with VDS_*
// environment overrides; `vds up` uses the defaults).
type Settings struct {
	Params     passwords.Params
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	Throttle   Throttle
}

// DefaultSettings are secure defaults.
func DefaultSettings() Settings {
	return Settings{Params: passwords.Default, AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, Throttle: DefaultThrottle}
}

// Bind registers the settings' flags on fs.
func (s *Settings) Bind(fs *flag.FlagSet) {
	mem, iters, threads := uint(s.Params.Memory), uint(s.Params.Time), uint(s.Params.Threads)
	fs.Func("argon2-memory-kib", fmt.Sprintf("argon2id memory cost in KiB (default %d); stored hashes are upgraded at the next login", mem), func(v string) error {
		_, err := fmt.Sscan(v, &s.Params.Memory)
		return err
	})
	fs.Func("argon2-iterations", fmt.Sprintf("argon2id time cost (passes) (default %d)", iters), func(v string) error {
		_, err := fmt.Sscan(v, &s.Params.Time)
		return err
	})
	fs.Func("argon2-threads", fmt.Sprintf("argon2id parallelism (default %d)", threads), func(v string) error {
		_, err := fmt.Sscan(v, &s.Params.Threads)
		return err
	})
	fs.DurationVar(&s.AccessTTL, "access-token-ttl", s.AccessTTL, "lifetime of an access token (at most 1h)")
	fs.DurationVar(&s.RefreshTTL, "refresh-token-ttl", s.RefreshTTL, "lifetime of a login session (its refresh token)")
	fs.DurationVar(&s.Throttle.Window, "login-throttle-window", s.Throttle.Window, "window over which failed logins are counted")
	fs.IntVar(&s.Throttle.MaxPerAccount, "login-max-failures-per-account", s.Throttle.MaxPerAccount, "failed logins at one account from one client address within the window before that address's logins to it are refused (0: off)")
	fs.IntVar(&s.Throttle.MaxPerAccountTotal, "login-max-failures-per-account-total", s.Throttle.MaxPerAccountTotal, "failed logins at one account from all addresses within the window before all its logins are refused (0: off)")
	fs.IntVar(&s.Throttle.MaxPerAddress, "login-max-failures-per-address", s.Throttle.MaxPerAddress, "failed logins per client address within the window before logins are refused")
}

// Validate checks the settings.
func (s Settings) Validate() error {
	switch {
	case s.Params.Memory < 8*1024 || s.Params.Time < 1 || s.Params.Threads < 1:
		return fmt.Errorf("argon2id parameters too weak (memory %d KiB, %d passes, %d threads): use at least 8192 KiB, 1 pass, 1 thread", s.Params.Memory, s.Params.Time, s.Params.Threads)
	case s.AccessTTL < time.Minute || s.AccessTTL > grpcx.MaxAccessTTL:
		return fmt.Errorf("--access-token-ttl must be between 1m and %s, not %s", grpcx.MaxAccessTTL, s.AccessTTL)
	case s.RefreshTTL < s.AccessTTL:
		return fmt.Errorf("--refresh-token-ttl (%s) must be at least --access-token-ttl (%s)", s.RefreshTTL, s.AccessTTL)
	case s.Throttle.Window < 0 || s.Throttle.MaxPerAccount < 0 || s.Throttle.MaxPerAccountTotal < 0 || s.Throttle.MaxPerAddress < 0:
		return fmt.Errorf("login throttle settings must not be negative")
	}
	return nil
}

// Service is the auth deployable.
func Service() platform.Service {
	set := DefaultSettings()
	return platform.Service{
		Name:   "auth",
		Public: Public,
		Flags:  set.Bind,
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			if err := set.Validate(); err != nil {
				return nil, err
			}
			s, err := New(ctx, rt)
			if err != nil {
				return nil, err
			}
			s.Params, s.AccessTTL, s.RefreshTTL, s.Throttle = set.Params, set.AccessTTL, set.RefreshTTL, set.Throttle
			authv1.RegisterAuthServiceServer(srv, s)
			return nil, nil
		},
	}
}
