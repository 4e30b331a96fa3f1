package server

import (
	"context"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/platform"
)

// Service is the auth deployable.
func Service() platform.Service {
	return platform.Service{
		Name:   "auth",
		Public: Public,
		Start: func(ctx context.Context, rt *platform.Runtime, srv *grpcx.Server) (func(context.Context) error, error) {
			s, err := New(ctx, rt)
			if err != nil {
				return nil, err
			}
			authv1.RegisterAuthServiceServer(srv, s)
			return nil, nil
		},
	}
}
