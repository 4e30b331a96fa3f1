// Package pysandbox runs untrusted Python in an OS sandbox built with bubblewrap: fresh user, PID,
// network, mount, IPC, UTS and cgroup namespaces (no network at all), no nested user namespaces, all
// capabilities dropped, an unprivileged uid, an empty environment, read-only /usr and
// /etc/alternatives, private size-capped tmpfs folders for /tmp and the output folder, the inputs
// bound read-only and nothing else of the host; a seccomp filter refuses ptrace, mount, unshare,
// namespace-creating clone flags, kernel-module, BPF, keyring and similar calls; rlimits bound CPU
// time, address space, processes, open files and file size; the host kills the sandbox at the wall
// time limit or when stdout and stderr pass their size cap. Where cgroup v1 memory and pids
// controllers are writable, each sandbox also gets its own cgroup.
//
// Code never runs unsandboxed: New fails with an *UnavailableError naming the reason when
// bubblewrap or user namespaces are missing.
//
// A Pool keeps sandboxes started ahead (interpreter running, optional modules imported, waiting for
// its request); each is used for exactly one execution and then discarded.
package pysandbox

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
)

//go:embed runner.py
var runnerPy []byte

// Limits bound one execution. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	Wall     time.Duration // wall-clock time, enforced by the host (SIGKILL)
	CPU      time.Duration // CPU time (RLIMIT_CPU)
	Memory   int64         // address space in bytes (RLIMIT_AS) and cgroup memory where available
	Procs    int           // processes and threads (RLIMIT_NPROC, cgroup pids where available)
	Files    int           // open files (RLIMIT_NOFILE)
	FileSize int64         // largest file written (RLIMIT_FSIZE)
	Output   int64         // stdout plus stderr bytes
	OutDir   int64         // total size of the output folder (tmpfs size)
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{Wall: 30 * time.Second, CPU: 20 * time.Second, Memory: 2 << 30, Procs: 64, Files: 256,
	FileSize: 64 << 20, Output: 1 << 20, OutDir: 128 << 20}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.Wall > 0 {
		d.Wall = l.Wall
	}
	if l.CPU > 0 {
		d.CPU = l.CPU
	}
	if l.Memory > 0 {
		d.Memory = l.Memory
	}
	if l.Procs > 0 {
		d.Procs = l.Procs
	}
	if l.Files > 0 {
		d.Files = l.Files
	}
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.Output > 0 {
		d.Output = l.Output
	}
	if l.OutDir > 0 {
		d.OutDir = l.OutDir
	}
	return d
}

// Min returns the tighter of each limit of l and ceiling (zero in l means the ceiling's).
func (l Limits) Min(ceiling Limits) Limits {
	c := ceiling.orDefault()
	pick := func(a, b int64) int64 {
		if a > 0 && a < b {
			return a
		}
		return b
	}
	return Limits{
		Wall: time.Duration(pick(int64(l.Wall), int64(c.Wall))), CPU: time.Duration(pick(int64(l.CPU), int64(c.CPU))),
		Memory: pick(l.Memory, c.Memory), Procs: int(pick(int64(l.Procs), int64(c.Procs))), Files: int(pick(int64(l.Files), int64(c.Files))),
		FileSize: pick(l.FileSize, c.FileSize), Output: pick(l.Output, c.Output), OutDir: pick(l.OutDir, c.OutDir),
	}
}

// Config describes how sandboxes are built.
type Config struct {
	// Bwrap is the bubblewrap binary; empty means "bwrap" on PATH.
	Bwrap string
	// Python is the interpreter inside the sandbox; empty means /usr/bin/python3 (Debian's, whose
	// packages such as pandas are under /usr).
	Python string
	// WorkDir holds one private folder per sandbox (its inputs). When the sandbox runs as a
	// separate host user (HostUID) and WorkDir is not reachable by that user, a private folder
	// under the system temporary directory is used instead (removed by Close).
	WorkDir string
	// HostUID is the host user bubblewrap runs as, so that the sandboxed process is an
	// unprivileged host user even outside its namespaces. 0 means 65534 (nobody) when this process
	// is root, and this process's own user otherwise; -1 forces this process's own user.
	HostUID int
	// Ceiling is the most any execution may use; requests may only lower it.
	Ceiling Limits
	// NoCgroups turns off the per-sandbox cgroup even where cgroups are writable.
	NoCgroups bool
}

// UnavailableError says why the sandbox cannot be built on this machine.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return "python sandbox unavailable: " + e.Reason }

// Outcome classifies how an execution ended.
type Outcome string

// Outcomes.
const (
	OK          Outcome = "ok"
	Error       Outcome = "error"         // the code raised or exited non-zero
	Timeout     Outcome = "timeout"       // wall-time limit
	CPULimit    Outcome = "cpu_limit"     // CPU-time limit (SIGXCPU)
	MemoryLimit Outcome = "memory_limit"  // MemoryError or cgroup OOM kill
	FileLimit   Outcome = "file_limit"    // a file passed the size limit (SIGXFSZ) or the output folder was full
	OutputLimit Outcome = "output_limit"  // stdout+stderr passed their cap
	ProcLimit   Outcome = "process_limit" // fork or thread creation hit the process limit
	Killed      Outcome = "killed"        // another signal
	Cancelled   Outcome = "cancelled"     // the caller's context ended
)

// Input is one file made visible read-only as /data/<Name>.
type Input struct {
	Alias string // name for vds.load(alias)
	Name  string // file name under /data, e.g. tips.csv or tips.parquet; must be a plain name
	Path  string // host path
	// Columns, for a CSV file, tells vds.load how to read columns whose type CSV loses: "str"
	// (text, even when it looks numeric), "boolean" (nullable) or "datetime".
	Columns map[string]string
}

// Job is one execution.
type Job struct {
	Code   string
	Inputs []Input
	Limits Limits
	// Stdout and Stderr, when set, receive output as it is produced (from one goroutine each).
	Stdout, Stderr func([]byte)
}

// File is an output file the code left in /out.
type File struct {
	Name string
	Data []byte
}

// Result describes a finished execution.
type Result struct {
	Outcome  Outcome
	Message  string
	ExitCode int
	Wall     time.Duration
	CPU      time.Duration
	PeakRSS  int64 // bytes
	Stdout   int64 // bytes of stdout seen
	Stderr   int64
	Files    []File
	Limits   Limits // the limits that applied
	Warm     bool   // the sandbox was started ahead
	Rejected []string
	// Skipped are the entries of /out that were not collected because they are not regular files
	// directly in /out: sub-folders (with whatever they hold), symbolic links and special files.
	Skipped []Skipped
}

// Skipped is an entry of /out that was not collected, and why ("folder", "symlink", "special" for
// a FIFO, socket or device, "unreadable").
type Skipped struct {
	Name string
	Why  string
}

// maxSkipped is the most skipped entries kept from one execution (the code names them).
const maxSkipped = 100

// Sandbox builds sandboxes.
type Sandbox struct {
	cfg     Config
	filter  []byte
	cgroups string   // v1 root of memory+pids, "" when not writable
	uid     int      // host user of the sandbox, -1 for this process's own
	ownWork bool     // WorkDir was made by New and is removed by Close
	workLck *os.File // the locked lock file of a WorkDir made by New (see makeWork)
	parquet string   // the Parquet reader importable inside ("pyarrow", "fastparquet"), "" for none
}

// ParquetReader names the Python library inside the sandbox that reads Parquet files (pyarrow or
// fastparquet), found by the probe run; "" when there is none (Debian bookworm packages neither).
func (s *Sandbox) ParquetReader() string { return s.parquet }

// Close waits (up to five seconds) for the cgroups of finished sandboxes to be removed, and removes
// a work folder New made for itself.
func (s *Sandbox) Close() {
	done := make(chan struct{})
	go func() { pendingRemovals.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if s.ownWork {
		os.RemoveAll(s.cfg.WorkDir)
		if s.workLck != nil {
			s.workLck.Close()
		}
	}
}

// reachable reports whether every ancestor of dir can be traversed by other users.
func reachable(dir string) bool {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

var namespaceFlags = uint64(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
	syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | 0x02000000 /* CLONE_NEWCGROUP */ | 0x00000080 /* CLONE_NEWTIME */)

// Denied are the system calls the seccomp filter refuses with EPERM.
var Denied = []string{"ptrace", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
	"request_key", "userfaultfd", "process_vm_readv", "process_vm_writev", "acct", "swapon", "swapoff", "reboot",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "quotactl", "open_by_handle_at",
	"name_to_handle_at", "lookup_dcookie", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "iopl", "ioperm", "io_uring_setup", "io_uring_enter", "io_uring_register", "vhangup",
	"personality", "fanotify_init", "pidfd_getfd", "uselib", "sethostname", "setdomainname"}

// Filter assembles the seccomp program (raw struct sock_filter array, as bubblewrap's --seccomp reads).
func Filter() ([]byte, error) {
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno, Names: Denied},
			{Action: seccomp.ActionErrno, NamesWithCondtions: []seccomp.NameWithConditions{
				{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: namespaceFlags}}},
				// Raw and packet sockets: AF_PACKET, and SOCK_RAW in any family (no capability
				// inside anyway; this is a second wall).
				{Name: "socket", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.Equal, Value: syscall.AF_PACKET}}},
				{Name: "socket", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: syscall.SOCK_RAW}}},
				{Name: "socket", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: syscall.SOCK_RAW | syscall.SOCK_CLOEXEC}}},
				{Name: "socket", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: syscall.SOCK_RAW | syscall.SOCK_NONBLOCK}}},
				{Name: "socket", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: syscall.SOCK_RAW | syscall.SOCK_NONBLOCK | syscall.SOCK_CLOEXEC}}},
			}},
			// clone3 passes its flags in memory, which seccomp cannot inspect: make it look
			// unimplemented (RET_TRACE without a tracer returns ENOSYS), so libc falls back to
			// clone, whose flags are checked above.
			{Action: seccomp.ActionTrace, Names: []string{"clone3"}},
		},
	}
	insts, err := policy.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, r := range raw {
		_ = binary.Write(&buf, binary.NativeEndian, struct {
			Op     uint16
			Jt, Jf uint8
			K      uint32
		}{r.Op, r.Jt, r.Jf, r.K})
	}
	return buf.Bytes(), nil
}

// New checks that the sandbox can be built here (bubblewrap present, user namespaces usable) by
// running a probe inside one, and returns an *UnavailableError with the reason when not.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if cfg.Bwrap == "" {
		p, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, &UnavailableError{Reason: "bubblewrap (bwrap) is not installed; install the bubblewrap package"}
		}
		cfg.Bwrap = p
	} else if _, err := exec.LookPath(cfg.Bwrap); err != nil {
		return nil, &UnavailableError{Reason: fmt.Sprintf("cannot start bubblewrap: %s is not an executable file; install the bubblewrap package", cfg.Bwrap)}
	}
	if cfg.Python == "" {
		cfg.Python = "/usr/bin/python3"
	}
	if !strings.HasPrefix(cfg.Python, "/usr/") {
		return nil, &UnavailableError{Reason: "the sandbox interpreter must live under /usr (only /usr is visible inside)"}
	}
	if _, err := os.Stat(cfg.Python); err != nil {
		return nil, &UnavailableError{Reason: fmt.Sprintf("the interpreter %s is missing", cfg.Python)}
	}
	if cfg.WorkDir == "" {
		return nil, errors.New("pysandbox: WorkDir is required")
	}
	uid := -1
	switch {
	case cfg.HostUID > 0:
		uid = cfg.HostUID
	case cfg.HostUID == 0 && os.Geteuid() == 0:
		uid = 65534
	}
	ownWork := false
	var lck *os.File
	if err := os.MkdirAll(cfg.WorkDir, 0o700); err != nil {
		return nil, err
	}
	// Whatever fails below, a work folder made here is removed again.
	fail := func(err error) (*Sandbox, error) {
		if ownWork {
			os.RemoveAll(cfg.WorkDir)
			lck.Close()
		}
		return nil, err
	}
	if uid >= 0 {
		abs, _ := filepath.Abs(cfg.WorkDir)
		if !reachable(abs) {
			sweepStaleWork(time.Now()) // folders of sandbox processes that died without Close
			d, l, err := makeWork()
			if err != nil {
				return nil, err
			}
			cfg.WorkDir, ownWork, lck = d, true, l
		}
		// Others may traverse (not list) the folder; each sandbox's folder has a random name.
		if err := os.Chmod(cfg.WorkDir, 0o711); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.WorkDir, "runner.py"), runnerPy, 0o644); err != nil {
		return fail(err)
	}
	f, err := Filter()
	if err != nil {
		return fail(fmt.Errorf("pysandbox: seccomp filter: %w", err))
	}
	s := &Sandbox{cfg: cfg, filter: f, uid: uid, ownWork: ownWork, workLck: lck}
	if os.Geteuid() == 0 && uid < 0 {
		return fail(&UnavailableError{Reason: "running as root without a separate host user for the sandbox: its process limit would not apply (root is exempt from RLIMIT_NPROC)"})
	}
	if !cfg.NoCgroups {
		s.cgroups = cgroupRoot()
	}
	// Probe: the full sandbox must start and run the interpreter.
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var probeOut bytes.Buffer
	res, err := s.Run(pctx, Job{Code: "import importlib.util as u\nprint('ok', *[m for m in ('pyarrow', 'fastparquet') if u.find_spec(m)])",
		Limits: Limits{Wall: 15 * time.Second}, Stdout: func(b []byte) { probeOut.Write(b) }})
	if err != nil {
		s.Close()
		return nil, &UnavailableError{Reason: err.Error()}
	}
	if res.Outcome != OK {
		s.Close()
		return nil, &UnavailableError{Reason: fmt.Sprintf("a probe run inside bubblewrap failed (%s: %s); user namespaces may be disabled", res.Outcome, res.Message)}
	}
	if f := strings.Fields(probeOut.String()); len(f) > 1 && f[0] == "ok" {
		s.parquet = f[1]
	}
	return s, nil
}

// Cgroups reports whether per-sandbox cgroups are in use.
func (s *Sandbox) Cgroups() bool { return s.cgroups != "" }

// Run executes one job in a fresh sandbox.
func (s *Sandbox) Run(ctx context.Context, job Job) (*Result, error) {
	w, err := s.start(nil)
	if err != nil {
		return nil, err
	}
	return w.run(ctx, job)
}

// warm is a started sandbox waiting for its one request.
type warm struct {
	s       *Sandbox
	cmd     *exec.Cmd
	dir     string
	stdin   *os.File
	stdout  *os.File
	stderr  *os.File
	ch      *bufio.Reader
	chFile  *os.File
	cgroup  string
	ready   chan error
	started time.Time
	limits  Limits
	once    sync.Once
}

func (w *warm) discard() {
	w.once.Do(func() {
		if w.cmd.Process != nil {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
		w.chFile.Close()
		w.stdin.Close()
		w.stdout.Close()
		w.stderr.Close()
		removeCgroup(w.cgroup)
		os.RemoveAll(w.dir)
	})
}

// start launches a sandbox with the ceiling limits and the given modules pre-imported.
func (s *Sandbox) start(preimport []string) (*warm, error) {
	lim := s.cfg.Ceiling.orDefault()
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "sbx-")
	if err != nil {
		return nil, err
	}
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if s.uid >= 0 {
		if err := os.Chmod(dir, 0o711); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	rl, _ := json.Marshal(rlimits(lim))
	args := []string{
		"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
		"--uid", "65534", "--gid", "65534", "--hostname", "sandbox", "--clearenv",
		"--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin", "--setenv", "LANG", "C.UTF-8",
		"--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "MKL_NUM_THREADS", "1",
		"--setenv", "MPLBACKEND", "Agg", "--setenv", "MPLCONFIGDIR", "/tmp/.mpl", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
		"--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(64<<20, 10), "--tmpfs", "/tmp",
		"--size", strconv.FormatInt(lim.OutDir, 10), "--perms", "0777", "--tmpfs", "/out",
		"--ro-bind", in, "/data",
		"--ro-bind", filepath.Join(s.cfg.WorkDir, "runner.py"), "/opt/vds/runner.py",
		"--chdir", "/out", "--cap-drop", "ALL",
	}
	// NumPy's BLAS is linked through /etc/alternatives; Debian's Matplotlib keeps its rc file in /etc.
	for _, p := range []string{"/etc/alternatives", "/etc/matplotlibrc", "/etc/fonts"} {
		if _, err := os.Stat(p); err == nil {
			args = append(args, "--ro-bind", p, p)
		}
	}
	args = append(args, "--remount-ro", "/")
	// fd 3: framed channel from the runner; fd 4: the seccomp program.
	args = append(args, "--seccomp", "4", s.cfg.Python, "-I", "-u", "/opt/vds/runner.py", string(rl), strings.Join(preimport, ","))
	// With cgroups, a small shell moves itself into the sandbox's groups and then becomes
	// bubblewrap, so every process of the sandbox is inside them from its first instruction.
	var cgProcs []string
	if s.cgroups != "" {
		cgProcs = prepareCgroup(s.cgroups, filepath.Base(dir), s.uid, lim)
	}
	var cmd *exec.Cmd
	if cgProcs != nil {
		w0 := append([]string{"-c", `echo 0 > "$1" && echo 0 > "$2" && shift 2 && exec "$@"`, "sh", cgProcs[0], cgProcs[1], s.cfg.Bwrap}, args...)
		cmd = exec.Command("/bin/sh", w0...)
	} else {
		cmd = exec.Command(s.cfg.Bwrap, args...)
	}
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.uid), Groups: []uint32{}}
	}
	chR, chW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		removeCgroup(filepath.Base(dir))
		return nil, err
	}
	secR, secW, err := os.Pipe()
	if err != nil {
		chR.Close()
		chW.Close()
		os.RemoveAll(dir)
		removeCgroup(filepath.Base(dir))
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{chW, secR}
	w := &warm{s: s, cmd: cmd, dir: dir, chFile: chR, ch: bufio.NewReaderSize(chR, 1<<16), ready: make(chan error, 1), limits: lim}
	var pipes [6]*os.File // stdin r/w, stdout r/w, stderr r/w
	for i := 0; i < 6 && err == nil; i += 2 {
		pipes[i], pipes[i+1], err = os.Pipe()
	}
	closeAll := func() {
		for _, f := range append(pipes[:], chR, chW, secR, secW) {
			if f != nil {
				f.Close()
			}
		}
	}
	if err != nil {
		closeAll()
		os.RemoveAll(dir)
		removeCgroup(filepath.Base(dir))
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes[0], pipes[3], pipes[5]
	w.stdin, w.stdout, w.stderr = pipes[1], pipes[2], pipes[4]
	w.started = time.Now()
	if err := cmd.Start(); err != nil {
		closeAll()
		os.RemoveAll(dir)
		removeCgroup(filepath.Base(dir))
		return nil, &UnavailableError{Reason: "cannot start bubblewrap: " + err.Error()}
	}
	chW.Close()
	secR.Close()
	pipes[0].Close()
	pipes[3].Close()
	pipes[5].Close()
	_, _ = secW.Write(s.filter) // small (< pipe buffer); bwrap reads it to EOF
	secW.Close()
	if cgProcs != nil {
		w.cgroup = filepath.Base(dir)
	}
	go func() {
		f, _, err := readFrame(w.ch, 1<<10)
		if err == nil && f["ready"] != true {
			err = errors.New("unexpected first frame")
		}
		if err != nil {
			var stderr []byte
			if w.stderr != nil {
				stderr, _ = io.ReadAll(io.LimitReader(w.stderr, 4096))
			}
			err = fmt.Errorf("the sandbox did not start: %v %s", err, strings.TrimSpace(string(stderr)))
		}
		if err == nil {
			// No code has run yet. Check that the process limit is really in force on every
			// process of the sandbox before accepting any.
			err = w.verify()
		}
		w.ready <- err
	}()
	return w, nil
}

// verify checks, before any code runs, that every process of the sandbox runs as the intended
// unprivileged host user (root's user is exempt from RLIMIT_NPROC, so a sandbox left as host root
// would have no process limit) and sits in the sandbox's pids cgroup when there is one.
func (w *warm) verify() error {
	procs := descendants(w.cmd.Process.Pid)
	if len(procs) < 2 {
		return fmt.Errorf("the sandbox's processes were not found under bubblewrap (pid %d)", w.cmd.Process.Pid)
	}
	var inGroup map[string]bool
	if w.cgroup != "" {
		b, err := os.ReadFile(filepath.Join(cgroupBase, "pids", "vds-sandbox", w.cgroup, "cgroup.procs"))
		if err != nil {
			return fmt.Errorf("read the sandbox's pids cgroup: %w", err)
		}
		inGroup = map[string]bool{}
		for _, f := range strings.Fields(string(b)) {
			inGroup[f] = true
		}
	}
	for _, pid := range append(procs, strconv.Itoa(w.cmd.Process.Pid)) {
		uid, ok := realUID(pid)
		if !ok {
			return fmt.Errorf("cannot read the owner of sandbox process %s", pid)
		}
		if uid == 0 {
			return fmt.Errorf("sandbox process %s runs as host root, which RLIMIT_NPROC does not limit; refusing it", pid)
		}
		if w.s.uid >= 0 && uid != w.s.uid {
			return fmt.Errorf("sandbox process %s runs as host uid %d, want %d", pid, uid, w.s.uid)
		}
		if inGroup != nil && !inGroup[pid] {
			return fmt.Errorf("sandbox process %s is outside its pids cgroup", pid)
		}
	}
	return nil
}

// descendants lists the processes below pid (children, grandchildren...), by scanning /proc.
func descendants(pid int) []string {
	parent := map[string]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			parent[e.Name()] = f[1]
		}
	}
	root := strconv.Itoa(pid)
	var out []string
	for p := range parent {
		for q, n := p, 0; n < 64; n++ {
			q = parent[q]
			if q == root {
				out = append(out, p)
				break
			}
			if q == "" || q == "0" || q == "1" {
				break
			}
		}
	}
	return out
}

func realUID(pid string) (int, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			f := strings.Fields(l)
			if len(f) > 1 {
				u, err := strconv.Atoi(f[1])
				return u, err == nil
			}
		}
	}
	return 0, false
}

func rlimits(l Limits) map[string]int64 {
	return map[string]int64{"cpu": int64((l.CPU + time.Second - 1) / time.Second), "as": l.Memory, "nproc": int64(l.Procs),
		"nofile": int64(l.Files), "fsize": l.FileSize, "core": 0}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// SafeName reports whether name is a plain file name (no separators, no leading dot, no "..").
func SafeName(name string) bool {
	return nameRE.MatchString(name) && !strings.Contains(name, "..")
}

func (w *warm) run(ctx context.Context, job Job) (*Result, error) {
	defer w.discard()
	lim := job.Limits.Min(w.limits)
	res := &Result{Limits: lim}
	inputs := map[string]any{}
	for _, in := range job.Inputs {
		if !SafeName(in.Name) || !SafeName(in.Alias) {
			return nil, fmt.Errorf("pysandbox: input name %q or alias %q is not a plain file name", in.Name, in.Alias)
		}
		dst := filepath.Join(w.dir, "in", in.Name)
		if w.s.uid >= 0 {
			// A private copy readable by the sandbox's host user only (a hard link would share
			// the cache file's owner and mode).
			if err := copyFile(in.Path, dst); err != nil {
				return nil, fmt.Errorf("pysandbox: stage input %s: %w", in.Name, err)
			}
			if err := os.Chown(dst, w.s.uid, w.s.uid); err != nil {
				return nil, fmt.Errorf("pysandbox: stage input %s: %w", in.Name, err)
			}
			_ = os.Chmod(dst, 0o400)
		} else if err := os.Link(in.Path, dst); err != nil {
			if err := copyFile(in.Path, dst); err != nil {
				return nil, fmt.Errorf("pysandbox: stage input %s: %w", in.Name, err)
			}
		}
		inputs[in.Alias] = map[string]any{"file": in.Name, "columns": in.Columns}
	}
	// Wait for the interpreter to be ready (already true for a warm sandbox).
	select {
	case err := <-w.ready:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return &Result{Outcome: Cancelled, Message: "cancelled before the sandbox was ready", Limits: lim}, nil
	case <-time.After(30 * time.Second):
		return nil, errors.New("pysandbox: the sandbox did not become ready within 30s")
	}
	req, _ := json.Marshal(map[string]any{"code": job.Code, "inputs": inputs, "limits": rlimits(lim)})
	start := time.Now()
	if _, err := w.stdin.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("pysandbox: send request: %w", err)
	}
	w.stdin.Close()

	var mu sync.Mutex
	var outputExceeded bool
	var total int64
	kill := func() {
		if w.cmd.Process != nil {
			_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			_ = w.cmd.Process.Kill()
		}
		killCgroup(w.cgroup)
	}
	pump := func(r io.Reader, sink func([]byte), count *int64, wg *sync.WaitGroup) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				mu.Lock()
				room := lim.Output - total
				chunk := buf[:n]
				if int64(n) > room {
					chunk = buf[:max(room, 0)]
					outputExceeded = true
				}
				total += int64(len(chunk))
				*count += int64(len(chunk))
				exceeded := outputExceeded
				mu.Unlock()
				if len(chunk) > 0 && sink != nil {
					sink(append([]byte(nil), chunk...))
				}
				if exceeded {
					kill()
					_, _ = io.Copy(io.Discard, r)
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go pump(w.stdout, job.Stdout, &res.Stdout, &wg)
	go pump(w.stderr, job.Stderr, &res.Stderr, &wg)

	// The channel: output files then the final status frame.
	type chanResult struct {
		files    []File
		status   map[string]any
		rejected []string
		skipped  []Skipped
		err      error
	}
	chDone := make(chan chanResult, 1)
	go func() {
		var cr chanResult
		var size int64
		for {
			f, data, err := readFrame(w.ch, lim.OutDir+1<<20)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					cr.err = err
				}
				break
			}
			if name, ok := f["file"].(string); ok {
				size += int64(len(data))
				switch {
				case !SafeName(name):
					cr.rejected = append(cr.rejected, name)
				case size > lim.OutDir:
					cr.rejected = append(cr.rejected, name)
				default:
					cr.files = append(cr.files, File{Name: name, Data: data})
				}
				continue
			}
			if name, ok := f["skipped"].(string); ok {
				why, _ := f["why"].(string)
				switch why {
				case "folder", "symlink", "special", "unreadable":
				default:
					why = "special"
				}
				if len(cr.skipped) < maxSkipped {
					cr.skipped = append(cr.skipped, Skipped{Name: name, Why: why})
				}
				continue
			}
			if _, ok := f["status"]; ok {
				cr.status = f
			}
		}
		_, _ = io.Copy(io.Discard, w.ch)
		chDone <- cr
	}()

	timer := time.NewTimer(lim.Wall)
	defer timer.Stop()
	waitDone := make(chan error, 1)
	go func() {
		err := w.cmd.Wait()
		// Whatever is left in the sandbox dies with it; then give the pumps a moment to drain.
		killCgroup(w.cgroup)
		drained := make(chan struct{})
		go func() { wg.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(2 * time.Second):
			w.stdout.Close()
			w.stderr.Close()
			w.chFile.Close()
			<-drained
		}
		waitDone <- err
	}()
	var timedOut, cancelled bool
	var werr error
	select {
	case werr = <-waitDone:
	case <-timer.C:
		timedOut = true
		kill()
		werr = <-waitDone
	case <-ctx.Done():
		cancelled = true
		kill()
		werr = <-waitDone
	}
	res.Wall = time.Since(start)
	cr := <-chDone
	res.Files, res.Rejected, res.Skipped = cr.files, cr.rejected, cr.skipped
	ps := w.cmd.ProcessState
	if ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			res.PeakRSS = ru.Maxrss * 1024
		}
		// The runner's own account (its process and its waited-for children) is more complete
		// than bubblewrap's; it can only be forged to look greedier, never to escape a limit.
		if v, ok := cr.status["cpu_ms"].(float64); ok && time.Duration(v)*time.Millisecond > res.CPU {
			res.CPU = time.Duration(v) * time.Millisecond
		}
		if v, ok := cr.status["maxrss_kb"].(float64); ok && int64(v)*1024 > res.PeakRSS {
			res.PeakRSS = int64(v) * 1024
		}
		res.ExitCode = ps.ExitCode()
	}
	oom := cgroupOOM(w.cgroup)
	if peak := cgroupPeak(w.cgroup); peak > res.PeakRSS {
		res.PeakRSS = peak
	}
	// The process status is authoritative; the runner's status frame only refines it.
	code := res.ExitCode
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	st, _ := cr.status["status"].(string)
	msg, _ := cr.status["message"].(string)
	mu.Lock()
	exceeded := outputExceeded
	mu.Unlock()
	switch {
	case cancelled:
		res.Outcome, res.Message = Cancelled, "cancelled by the caller"
	case timedOut:
		res.Outcome, res.Message = Timeout, fmt.Sprintf("stopped at the wall-time limit of %s", lim.Wall)
	case exceeded:
		res.Outcome, res.Message = OutputLimit, fmt.Sprintf("stopped when stdout and stderr passed their limit of %d bytes", lim.Output)
	case oom:
		res.Outcome, res.Message = MemoryLimit, fmt.Sprintf("killed at the memory limit of %d MiB", lim.Memory>>20)
	case st == "procs":
		res.Outcome, res.Message = ProcLimit, fmt.Sprintf("stopped at the limit of %d processes: %s", lim.Procs, msg)
	case code == 128+int(syscall.SIGXCPU):
		res.Outcome, res.Message = CPULimit, fmt.Sprintf("stopped at the CPU-time limit of %s", lim.CPU)
	case code == 128+int(syscall.SIGXFSZ):
		res.Outcome, res.Message = FileLimit, fmt.Sprintf("stopped when a file passed the size limit of %d MiB", lim.FileSize>>20)
	case code > 128:
		res.Outcome, res.Message = Killed, fmt.Sprintf("killed by signal %s", syscall.Signal(code-128))
	case code == 0 && cr.status != nil && st == "ok":
		res.Outcome = OK
	case st == "memory":
		res.Outcome, res.Message = MemoryLimit, fmt.Sprintf("MemoryError at the memory limit of %d MiB", lim.Memory>>20)
	case cr.status == nil:
		res.Outcome, res.Message = Error, fmt.Sprintf("the interpreter exited with status %d before finishing", code)
		if werr != nil && code < 0 {
			res.Message = werr.Error()
		}
	default:
		res.Outcome, res.Message = Error, msg
		if res.Message == "" {
			res.Message = fmt.Sprintf("exit status %d", code)
		}
	}
	if res.Outcome == Error && strings.Contains(msg, "No space left on device") {
		res.Outcome, res.Message = FileLimit, fmt.Sprintf("the output folder is full (limit %d MiB): %s", lim.OutDir>>20, msg)
	}
	if res.Outcome == Error && strings.Contains(msg, "File too large") {
		res.Outcome, res.Message = FileLimit, fmt.Sprintf("a file passed the size limit of %d MiB: %s", lim.FileSize>>20, msg)
	}
	if res.Message == "" {
		var notes []string
		if len(res.Rejected) > 0 {
			notes = append(notes, fmt.Sprintf("output files refused (unsafe name or over the size limit): %s", strings.Join(res.Rejected, ", ")))
		}
		if len(res.Skipped) > 0 {
			notes = append(notes, skippedNote(res.Skipped))
		}
		res.Message = strings.Join(notes, "; ")
	}
	return res, nil
}

// skippedNote tells the caller which entries of /out were not collected and why.
func skippedNote(sk []Skipped) string {
	why := map[string]string{"folder": "a folder: files in sub-folders are not collected", "symlink": "a symbolic link: links are not followed",
		"special": "not a regular file", "unreadable": "could not be opened"}
	var parts []string
	for i, s := range sk {
		if i == 10 {
			more := fmt.Sprintf("and %d more", len(sk)-i)
			if len(sk) == maxSkipped {
				more = fmt.Sprintf("and at least %d more", len(sk)-i)
			}
			parts = append(parts, more)
			break
		}
		name := s.Name
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		parts = append(parts, fmt.Sprintf("%q (%s)", name, why[s.Why]))
	}
	return "not collected from /out (only regular files directly in /out become outputs; write each one there under its own name): " + strings.Join(parts, ", ")
}

// readFrame reads "<headLen> <dataLen>\n<head JSON><data>".
func readFrame(r *bufio.Reader, maxData int64) (map[string]any, []byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line == "" {
			return nil, nil, io.EOF
		}
		return nil, nil, err
	}
	var hl, dl int64
	if _, err := fmt.Sscanf(line, "%d %d\n", &hl, &dl); err != nil || hl < 0 || hl > 1<<16 || dl < 0 || dl > maxData {
		return nil, nil, fmt.Errorf("bad frame header")
	}
	head := make([]byte, hl)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, err
	}
	data := make([]byte, dl)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(head, &m); err != nil {
		return nil, nil, fmt.Errorf("bad frame: %w", err)
	}
	return m, data, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
