package pysandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A work folder that New makes for itself under the system temporary folder (when the configured
// one is not reachable by the sandbox user) is named workPrefix+random and holds a lock file that
// its Sandbox keeps locked (flock) until Close. Close removes the folder; a process that dies
// without Close (killed, crashed, a test binary stopped at its timeout) releases the lock, and the
// next New on the machine removes the folder (sweepStaleWork). The folder is first made as
// newPrefix+random; one left under that name by a process killed before the rename is removed
// too, once it is older than newGrace and not locked.
const (
	workPrefix = "vds-sandbox-"
	newPrefix  = "." + workPrefix + "new-"
	workLock   = ".owner.lock"
	// makeWork renames its folder within microseconds of making it; a folder still under the
	// new name after this long belongs to a process that died in between.
	newGrace = time.Minute
	// A folder without a lock file was made by a build before the lock existed; it is removed only
	// once it has not changed for this long (a running sandbox service changes it on every start
	// of a sandbox).
	unlockedGrace = 24 * time.Hour
)

// makeWork makes and locks a private work folder under the system temporary folder. The folder is
// made under another name and renamed once its lock is held, so that a sweep never sees it
// unlocked.
func makeWork() (string, *os.File, error) {
	tmp, err := os.MkdirTemp("", newPrefix)
	if err != nil {
		return "", nil, err
	}
	d := filepath.Join(filepath.Dir(tmp), workPrefix+strings.TrimPrefix(filepath.Base(tmp), newPrefix))
	f, err := os.OpenFile(filepath.Join(tmp, workLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			err = os.Rename(tmp, d)
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return d, f, nil
}

// sweepStaleWork removes the work folders of sandboxes whose process is gone: their lock file can
// be locked, or they have none and are older than unlockedGrace. Folders still under the new name
// (newPrefix) are removed on the same terms once older than newGrace, with or without a lock
// file. It returns the folders removed.
func sweepStaleWork(now time.Time) []string {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	made, _ := filepath.Glob(filepath.Join(os.TempDir(), newPrefix+"*"))
	dirs = append(dirs, made...)
	var removed []string
	for _, d := range dirs {
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() || st.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
			continue // not a folder of this user's sandboxes
		}
		isNew := strings.HasPrefix(filepath.Base(d), newPrefix)
		if isNew && now.Sub(st.ModTime()) <= newGrace {
			continue // perhaps being made right now
		}
		f, err := os.OpenFile(filepath.Join(d, workLock), os.O_RDWR, 0)
		if err != nil {
			if os.IsNotExist(err) && (isNew || now.Sub(st.ModTime()) > unlockedGrace) {
				os.RemoveAll(d)
				removed = append(removed, d)
			}
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(d) // its owner is gone; holding the lock, no new owner can take it
			removed = append(removed, d)
		}
		f.Close()
	}
	return removed
}
