package training

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// lockFile is the advisory lock of a checkpoint directory; it holds the PID of the process using it.
const lockFile = "lock"

// ErrLocked is wrapped by the error of LockDir when another process holds the directory.
var ErrLocked = errors.New("checkpoint directory in use")

// LockDir takes the advisory lock of checkpoint directory dir (created if missing): an exclusive,
// non-blocking lock on <dir>/lock, into which it writes this process's PID. It fails at once, with an
// error wrapping ErrLocked that names the directory and the holder's PID, when another process (or
// another LockDir of this one) holds it. The returned unlock releases it; the operating system releases
// it too when the process ends, however it ends. On systems without flock it locks nothing.
func LockDir(dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("training: checkpoint directory: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("training: locking %s: %w", dir, err)
	}
	if locked, err := tryLock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("training: locking %s: %w", path, err)
	} else if !locked {
		holder, _ := os.ReadFile(path)
		f.Close()
		pid := strings.TrimSpace(string(holder))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("training: %w: %s is locked by process %s (%s); wait for that run to end, or use another checkpoint directory",
			ErrLocked, dir, pid, path)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("training: writing %s: %w", path, err)
	}
	return func() error {
		f.Truncate(0)
		return f.Close() // closing the descriptor releases the lock
	}, nil
}
