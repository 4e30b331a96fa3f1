package pysandbox

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWorkFolderSweep: the work folder of a sandbox process that died without Close (here a child
// process killed with SIGKILL, and a lock released by hand) is removed by the next sweep; a live
// one (its lock held) is kept, and so is a folder without a lock file (an older build's) until it
// has not changed for unlockedGrace.
func TestWorkFolderSweep(t *testing.T) {
	if os.Getenv("PYSANDBOX_HOLD_WORK") == "1" { // the child: make a folder, say where, wait to be killed
		d, _, err := makeWork()
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(d + "\n")
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkFolderSweep$")
	cmd.Env = append(os.Environ(), "PYSANDBOX_HOLD_WORK=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	killed := strings.TrimSpace(line)
	if got := sweepStaleWork(time.Now()); slices.Contains(got, killed) {
		t.Fatalf("the live child's folder %s was swept", killed)
	}
	if _, err := os.Stat(killed); err != nil {
		t.Fatalf("the live child's folder: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	released, lck, err := makeWork()
	if err != nil {
		t.Fatal(err)
	}
	lck.Close() // as when its process ends
	live, liveLck, err := makeWork()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(live)
	defer liveLck.Close()
	oldUnlocked, _ := os.MkdirTemp("", workPrefix)
	newUnlocked, _ := os.MkdirTemp("", workPrefix)
	defer os.RemoveAll(newUnlocked)
	old := time.Now().Add(-unlockedGrace - time.Hour)
	if err := os.Chtimes(oldUnlocked, old, old); err != nil {
		t.Fatal(err)
	}
	got := sweepStaleWork(time.Now())
	for _, d := range []string{killed, released, oldUnlocked} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) || !slices.Contains(got, d) {
			t.Errorf("stale %s: stat %v, swept %v", d, err, got)
		}
	}
	for _, d := range []string{live, newUnlocked} {
		if _, err := os.Stat(d); err != nil || slices.Contains(got, d) {
			t.Errorf("kept %s: stat %v, swept %v", d, err, got)
		}
	}
}

// TestCloseRemovesOwnWorkFolder: New, given a work folder the sandbox user cannot reach, makes its
// own under the temporary folder, and Close removes it.
func TestCloseRemovesOwnWorkFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the own work folder is made only when the sandbox runs as another host user (as root)")
	}
	s, err := New(context.Background(), Config{WorkDir: filepath.Join(t.TempDir(), "work"), NoCgroups: true})
	if err != nil {
		var ue *UnavailableError
		if errors.As(err, &ue) && os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	if !s.ownWork || !strings.HasPrefix(filepath.Base(s.cfg.WorkDir), workPrefix) {
		t.Fatalf("work folder %s, own %v", s.cfg.WorkDir, s.ownWork)
	}
	if got := sweepStaleWork(time.Now()); slices.Contains(got, s.cfg.WorkDir) {
		t.Fatal("a sweep removed a live sandbox's folder")
	}
	if res, _, _ := run(t, s, "print(1)", Limits{Wall: 10 * time.Second}); res.Outcome != OK {
		t.Fatalf("outcome %s", res.Outcome)
	}
	s.Close()
	if _, err := os.Stat(s.cfg.WorkDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close: %v", err)
	}
}

// TestNewWorkFolderSweep: a folder left under makeWork's first name (its process killed between
// making it and renaming it, before or after it made its lock file) is removed by the sweep once
// it is older than newGrace; one younger than that (perhaps being made now) or whose lock is held
// is kept.
func TestNewWorkFolderSweep(t *testing.T) {
	old := time.Now().Add(-newGrace - time.Minute)
	mk := func(lock string) (string, *os.File) {
		t.Helper()
		d, err := os.MkdirTemp("", newPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		var f *os.File
		if lock != "" {
			if f, err = os.OpenFile(filepath.Join(d, workLock), os.O_CREATE|os.O_RDWR, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if lock == "held" {
				if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
					t.Fatal(err)
				}
			}
		}
		return d, f
	}
	noLock, _ := mk("")
	released, _ := mk("released")
	held, _ := mk("held")
	young, _ := mk("")
	for _, d := range []string{noLock, released, held} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	got := sweepStaleWork(time.Now())
	for _, d := range []string{noLock, released} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) || !slices.Contains(got, d) {
			t.Errorf("stale new folder %s: stat %v, swept %v", d, err, got)
		}
	}
	for _, d := range []string{held, young} {
		if _, err := os.Stat(d); err != nil || slices.Contains(got, d) {
			t.Errorf("kept new folder %s: stat %v, swept %v", d, err, got)
		}
	}
	// The young one goes too once it is old enough.
	if err := os.Chtimes(young, old, old); err != nil {
		t.Fatal(err)
	}
	if got := sweepStaleWork(time.Now()); !slices.Contains(got, young) || slices.Contains(got, held) {
		t.Errorf("after the young folder aged past newGrace, swept %v; want %s and not %s", got, young, held)
	}
}
