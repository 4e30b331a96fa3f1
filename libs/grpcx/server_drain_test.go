package grpcx

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestStoppingThenDrained: Stopping is closed when Serve begins to stop and Drained once it has
// returned; neither before the serving context ends.
func TestStoppingThenDrained(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ServerOptions{Name: "probe"})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, lis) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-s.Stopping():
		t.Fatal("Stopping closed while serving")
	case <-s.Drained():
		t.Fatal("Drained closed while serving")
	default:
	}
	stop()
	select {
	case <-s.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("Drained not closed after the stop")
	}
	select {
	case <-s.Stopping():
	default:
		t.Error("Drained closed but not Stopping")
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
