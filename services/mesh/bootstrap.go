package mesh

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/gen/client"
	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/grpcx"
)

// LocalAdmin is the e-mail address of the user `vds up` creates on first start.
const LocalAdmin = "admin@vds.local"

// bootstrap makes sure a local admin and an API key exist, through the real auth API, and keeps them
// in home/credentials.json so the CLI works with no manual set-up.
func bootstrap(ctx context.Context, home string, p *Platform) (*Credentials, error) {
	c, err := client.Dial(ctx, p.GRPCAddr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	creds, err := LoadCredentials(home)
	if err == nil && creds.APIKey != "" {
		ac, aerr := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(creds.APIKey))
		if aerr == nil {
			_, aerr = ac.Auth.WhoAmI(ctx, &authv1.WhoAmIRequest{})
			ac.Close()
		}
		if aerr == nil {
			creds.GRPCAddr, creds.HTTPURL = p.GRPCAddr, p.HTTPURL
			return creds, SaveCredentials(home, creds)
		}
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	pw := make([]byte, 18)
	_, _ = rand.Read(pw)
	password := base64.RawURLEncoding.EncodeToString(pw)
	if creds != nil && creds.Email == LocalAdmin && creds.Password != "" {
		password = creds.Password
	}
	_, err = c.Auth.Register(ctx, &authv1.RegisterRequest{Email: LocalAdmin, Password: password, DisplayName: "Local admin"})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return nil, fmt.Errorf("create local admin: %w", err)
	}
	login, err := c.Auth.Login(ctx, &authv1.LoginRequest{Email: LocalAdmin, Password: password})
	if err != nil {
		return nil, fmt.Errorf("the local admin exists but its password is not in %s: delete the home folder to start afresh, or log in with your password (%w)", CredentialsPath(home), err)
	}
	uc, err := client.Dial(ctx, p.GRPCAddr, client.WithToken(login.AccessToken))
	if err != nil {
		return nil, err
	}
	defer uc.Close()
	me, err := uc.Auth.WhoAmI(ctx, &authv1.WhoAmIRequest{})
	if err != nil || len(me.Projects) == 0 {
		return nil, fmt.Errorf("local admin has no project: %v", err)
	}
	key, err := uc.Auth.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{ProjectId: me.Projects[0].Id, Name: "vds CLI (local)", Scope: authv1.Scope_SCOPE_ADMIN})
	if err != nil {
		return nil, fmt.Errorf("create CLI key: %w", err)
	}
	creds = &Credentials{Email: LocalAdmin, Password: password, APIKey: key.Key, ProjectID: me.Projects[0].Id, GRPCAddr: p.GRPCAddr, HTTPURL: p.HTTPURL}
	return creds, SaveCredentials(home, creds)
}

// waitHealthy waits until every service answers its health check; a service that fails to start
// ends the wait with its own error.
func waitHealthy(ctx context.Context, addrs map[string]string, startErr <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for name, addr := range addrs {
		conn, err := grpcx.Dial(addr)
		if err != nil {
			return err
		}
		hc := healthpb.NewHealthClient(conn)
		for {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
			cancel()
			if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				conn.Close()
				return fmt.Errorf("%s service did not become healthy at %s: %v", name, addr, err)
			}
			select {
			case serr := <-startErr:
				conn.Close()
				return serr
			case <-time.After(100 * time.Millisecond):
			}
		}
		conn.Close()
	}
	return nil
}
