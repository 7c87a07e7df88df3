package shard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Claim is what a claim file holds: who computes the cell, since when.
type Claim struct {
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Time  time.Time `json:"time"`
	Shard string    `json:"shard,omitempty"`
	Key   string    `json:"cell"`
	// Token tells this claim from any other, so that a process removes only its own.
	Token string `json:"token"`
}

func (c Claim) String() string {
	return fmt.Sprintf("process %d on %s since %s", c.PID, c.Host, c.Time.Format(time.RFC3339))
}

// HeldError is the error of Acquire when another process holds the claim.
type HeldError struct {
	Path string
	// Holder is the claim on file; nil when the file could not be read as one.
	Holder *Claim
	// Why says why the claim was not taken over.
	Why string
}

func (e *HeldError) Error() string {
	who := "an unreadable claim"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("shard: %s is claimed by %s (%s)", e.Path, who, e.Why)
}

// Claimer takes and releases the claims of cells under Dir: the claim of key K is the file Dir/K.claim,
// created with O_CREATE|O_EXCL, so that of several processes (on one machine or on several sharing the
// directory) exactly one gets it.
type Claimer struct {
	Dir string
	// Steal lets Acquire take over claims held on other hosts, and unreadable ones: for claims left by
	// processes that died on machines this one cannot ask. Claims of live processes on this host are
	// never taken.
	Steal bool
	// Shard is written into the claims, for whoever reads them.
	Shard string
	// Host and PID identify this process (default os.Hostname and os.Getpid).
	Host string
	PID  int
	// Alive reports whether a process of this host is running (default: kill -0).
	Alive func(pid int) bool
	// Young is how long an unreadable claim is taken to be one being written (default 1 minute).
	Young time.Duration
}

// Lease is a claim this process holds.
type Lease struct {
	Path  string
	Claim Claim
	// TookOver is the claim of a dead process that Acquire replaced, if any (an empty Claim when it
	// was unreadable), and Reason says why it was taken.
	TookOver *Claim
	Reason   string
}

// Path returns the claim file of key.
func (c *Claimer) Path(key string) string {
	return filepath.Join(c.Dir, filepath.FromSlash(key)+".claim")
}

func (c *Claimer) host() string {
	if c.Host != "" {
		return c.Host
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown-host"
	}
	return h
}

func (c *Claimer) pid() int {
	if c.PID != 0 {
		return c.PID
	}
	return os.Getpid()
}

func (c *Claimer) alive(pid int) bool {
	if c.Alive != nil {
		return c.Alive(pid)
	}
	return Alive(pid)
}

// Alive reports whether process pid runs on this host: kill -0 succeeds, or fails only for want of
// permission.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Acquire claims key. It returns the lease, or a *HeldError when another process holds the claim: a
// live one, one on another host (unless Steal), or one whose file cannot be read as a claim (unless
// Steal; one younger than Young is taken to be being written). A claim left by a dead process of this
// host is taken over, and the lease says so.
func (c *Claimer) Acquire(key string) (*Lease, error) {
	path := c.Path(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("shard: %w", err)
	}
	token := make([]byte, 8)
	rand.Read(token)
	mine := Claim{Host: c.host(), PID: c.pid(), Time: time.Now().UTC().Truncate(time.Second), Shard: c.Shard, Key: key, Token: hex.EncodeToString(token)}
	data, err := json.Marshal(mine)
	if err != nil {
		return nil, fmt.Errorf("shard: %w", err)
	}
	var tookOver *Claim
	var reason string
	for attempt := 0; attempt < 20; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.Write(append(data, '\n')) // one write: readers see all of it or (briefly) nothing
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
				return nil, fmt.Errorf("shard: writing %s: %w", path, err)
			}
			return &Lease{Path: path, Claim: mine, TookOver: tookOver, Reason: reason}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("shard: claiming: %w", err)
		}
		raw, info, err := readRaw(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("shard: %w", err)
		}
		holder, why, take := c.judge(raw, info)
		if !take {
			return nil, &HeldError{Path: path, Holder: holder, Why: why}
		}
		gone, err := c.remove(path, raw)
		if err != nil {
			return nil, err
		}
		if gone {
			tookOver, reason = holder, why
			if tookOver == nil {
				tookOver = &Claim{}
			}
		} else {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond) // another process is taking it over
		}
	}
	return nil, fmt.Errorf("shard: %s: could not claim it after 20 attempts (claimed and released over and over)", path)
}

// judge decides about a claim on file whether it may be taken over, and why.
func (c *Claimer) judge(raw []byte, info fs.FileInfo) (holder *Claim, why string, take bool) {
	var h Claim
	if err := json.Unmarshal(raw, &h); err != nil || h.Token == "" {
		young := c.Young
		if young == 0 {
			young = time.Minute
		}
		switch {
		case c.Steal:
			return nil, "an unreadable claim, taken with -steal-claims", true
		case time.Since(info.ModTime()) < young:
			return nil, "being written", false
		}
		return nil, "unreadable: remove it if no process computes the cell, or use -steal-claims", false
	}
	switch {
	case h.Host != c.host() && c.Steal:
		return &h, "another host's, taken with -steal-claims", true
	case h.Host != c.host():
		return &h, "another host: its process cannot be checked from here; use -steal-claims if it has died", false
	case h.PID == c.pid() || c.alive(h.PID):
		return &h, "running", false
	}
	return &h, "its process has ended", true
}

// remove deletes the claim file at path if it still holds raw, under a takeover lock (path.takeover,
// created exclusively) so that two processes taking over the same dead claim cannot delete each
// other's new claims. It reports whether the file is gone.
func (c *Claimer) remove(path string, raw []byte) (bool, error) {
	lock := path + ".takeover"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if info, err := os.Stat(lock); err == nil && time.Since(info.ModTime()) > time.Minute {
			os.Remove(lock) // left by a process that died while taking over
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("shard: %w", err)
	}
	f.Close()
	defer os.Remove(lock)
	cur, _, err := readRaw(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("shard: %w", err)
	case !bytes.Equal(cur, raw):
		return false, nil // replaced meanwhile
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("shard: %w", err)
	}
	return true, nil
}

func readRaw(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), info, err
}

// Read returns the claim on file at path.
func Read(path string) (*Claim, error) {
	raw, _, err := readRaw(path)
	if err != nil {
		return nil, err
	}
	var c Claim
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("shard: %s: %w", path, err)
	}
	return &c, nil
}

// Release removes the lease's claim file, if it is still this lease's claim (one taken over with
// -steal-claims by another host is left to its new holder, and Release says so).
func (l *Lease) Release() error {
	cur, err := Read(l.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("shard: releasing %s: the claim file has gone", l.Path)
	case err != nil:
		return err
	case cur.Token != l.Claim.Token:
		return fmt.Errorf("shard: releasing %s: the claim is now %s's, left in place", l.Path, cur)
	}
	if err := os.Remove(l.Path); err != nil {
		return fmt.Errorf("shard: releasing: %w", err)
	}
	return nil // the directories stay: removing one could fail another process's Acquire between its MkdirAll and its create
}
