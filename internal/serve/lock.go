package serve

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockState takes the lock that lets one kiln serve at a time use a state
// file: an exclusive flock on STATE.lock, which names its holder (process,
// host, address, start time). A second kiln serve on the same file gets
// an error naming the first. The lock goes with the process, however it
// ends; release gives it up earlier.
func LockState(statePath, listen string) (release func(), err error) {
	p := statePath + ".lock"
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("another kiln serve already uses the state file %s: %s; stop it first (two servers would hand out the same install tokens and fight over node states)", statePath, who)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", p, err)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("kiln serve, process %d on %s, listening on %s since %s\n", os.Getpid(), host, listen, time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
