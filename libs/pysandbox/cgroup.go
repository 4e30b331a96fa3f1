package pysandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cgroup v1 memory and pids controllers, when this process may create groups in them.
const cgroupBase = "/sys/fs/cgroup"

func cgroupRoot() string {
	for _, c := range []string{"memory", "pids"} {
		dir := filepath.Join(cgroupBase, c, "vds-sandbox")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return ""
		}
		probe := filepath.Join(dir, "probe")
		if err := os.Mkdir(probe, 0o755); err != nil && !os.IsExist(err) {
			return ""
		}
		os.Remove(probe)
	}
	return cgroupBase
}

// prepareCgroup makes fresh memory and pids groups named name with the limits, and lets uid (when
// >= 0) move itself in. It returns the two cgroup.procs files, or nil when that fails.
func prepareCgroup(root, name string, uid int, l Limits) []string {
	var procs []string
	for _, c := range []string{"memory", "pids"} {
		dir := filepath.Join(root, c, "vds-sandbox", name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			removeCgroup(name)
			return nil
		}
		var err error
		switch c {
		case "memory":
			// Resident memory, tmpfs pages included; the address-space rlimit is separate.
			err = os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(l.Memory, 10)), 0)
			_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(l.Memory, 10)), 0)
		case "pids":
			err = os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(l.Procs+8)), 0)
		}
		f := filepath.Join(dir, "cgroup.procs")
		if err == nil && uid >= 0 {
			err = os.Chown(f, uid, uid)
		}
		if err != nil {
			removeCgroup(name)
			return nil
		}
		procs = append(procs, f)
	}
	return procs
}

func cgroupOOM(name string) bool {
	if name == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(cgroupBase, "memory", "vds-sandbox", name, "memory.failcnt"))
	if err != nil {
		return false
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if n == 0 {
		return false
	}
	oc, err := os.ReadFile(filepath.Join(cgroupBase, "memory", "vds-sandbox", name, "memory.oom_control"))
	return err == nil && strings.Contains(string(oc), "oom_kill ") && !strings.Contains(string(oc), "oom_kill 0")
}

func cgroupPeak(name string) int64 {
	if name == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(cgroupBase, "memory", "vds-sandbox", name, "memory.max_usage_in_bytes"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// killCgroup kills every process left in the sandbox's pids group.
func killCgroup(name string) {
	if name == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(cgroupBase, "pids", "vds-sandbox", name, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func removeCgroup(name string) {
	if name == "" {
		return
	}
	if !removeCgroupOnce(name) {
		// Killed processes may take a moment to leave the group; retry in the background.
		pendingRemovals.Add(1)
		go func() {
			defer pendingRemovals.Done()
			for i := 0; i < 50 && !removeCgroupOnce(name); i++ {
				killCgroup(name)
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
}

// pendingRemovals counts groups still being removed; Sandbox.Close waits for them.
var pendingRemovals sync.WaitGroup

func removeCgroupOnce(name string) bool {
	ok := true
	for _, c := range []string{"memory", "pids"} {
		if err := os.Remove(filepath.Join(cgroupBase, c, "vds-sandbox", name)); err != nil && !os.IsNotExist(err) {
			ok = false
		}
	}
	return ok
}
