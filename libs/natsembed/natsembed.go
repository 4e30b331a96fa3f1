// Package natsembed runs a NATS server with JetStream inside the process, for `vds up` and tests.
package natsembed

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server listening on loopback.
type Server struct {
	ns *server.Server
}

// Start starts NATS with JetStream storing under dir, on 127.0.0.1:port (0 picks a free port).
func Start(dir string, port int) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if port == 0 {
		port = -1
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "vds-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		// Bounded so a runaway producer cannot fill the disk.
		JetStreamMaxStore:  8 << 30,
		JetStreamMaxMemory: 256 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not become ready")
	}
	return &Server{ns: ns}, nil
}

// URL is the client URL (nats://127.0.0.1:port).
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
