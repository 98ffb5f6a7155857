package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// supervisor runs dnsmasq with the build's config: it checks each new
// config with dnsmasq --test before using it, restarts dnsmasq when the
// config changes or when it dies (waiting longer after each quick death),
// and copies its log lines into ours.
type supervisor struct {
	bin  string
	conf string // where the config in use is kept, outside the build tree
	// leaseFile is where dnsmasq keeps its leases: kiln serve reads it to
	// know the address a machine was given (the address check).
	leaseFile string
	log       *slog.Logger
	m         *metrics

	mu      sync.Mutex
	current []byte        // the config dnsmasq should run with
	changed chan struct{} // a new config is in place
	proc    *os.Process
}

func newSupervisor(bin, conf string, log *slog.Logger, m *metrics) *supervisor {
	return &supervisor{bin: bin, conf: conf, log: log.With("component", "dnsmasq"), m: m, changed: make(chan struct{}, 1)}
}

// syncDnsmasq hands the build's dnsmasq config to the supervisor.
func (s *Server) syncDnsmasq(snap *snapshot) {
	f, ok := snap.files[s.cfg.DnsmasqConf]
	if !ok {
		s.log.Error("the new build has no dnsmasq config; dnsmasq keeps its old one", "file", s.cfg.DnsmasqConf)
		return
	}
	if err := s.dnsmasq.setConfig(f.data); err != nil {
		s.metrics.reloadErrors.Add(1)
		s.log.Error("dnsmasq refuses the new config; it keeps running with the old one", "err", err)
	}
}

// setConfig checks data with dnsmasq --test and, if it passes and differs
// from the config in use, puts it in place and asks for a restart.
func (d *supervisor) setConfig(data []byte) error {
	d.mu.Lock()
	same := bytes.Equal(d.current, data)
	d.mu.Unlock()
	if same {
		return nil
	}
	tmp := d.conf + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	out, err := exec.Command(d.bin, "--test", "--conf-file="+tmp).CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dnsmasq --test: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Rename(tmp, d.conf); err != nil {
		return err
	}
	d.mu.Lock()
	d.current = bytes.Clone(data)
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
	return nil
}

// run keeps dnsmasq running until ctx ends.
func (d *supervisor) run(ctx context.Context) {
	backoff := time.Second
	for {
		d.mu.Lock()
		ready := d.current != nil
		d.mu.Unlock()
		if !ready {
			select {
			case <-ctx.Done():
				return
			case <-d.changed:
				continue
			}
		}
		// Drain a change signal that the start below already covers.
		select {
		case <-d.changed:
		default:
		}
		args := []string{"--keep-in-foreground", "--log-facility=-", "--pid-file", "--conf-file=" + d.conf}
		if d.leaseFile != "" {
			args = append(args, "--dhcp-leasefile="+d.leaseFile)
		}
		cmd := exec.Command(d.bin, args...)
		lw := &lineLogger{log: d.log}
		cmd.Stdout, cmd.Stderr = lw, lw
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		started := time.Now()
		if err := cmd.Start(); err != nil {
			d.log.Error("cannot start dnsmasq", "err", err)
		} else {
			d.m.dnsmasqStart.Add(1)
			d.m.dnsmasqUp.Store(1)
			d.mu.Lock()
			d.proc = cmd.Process
			d.mu.Unlock()
			d.log.Info("dnsmasq started", "pid", cmd.Process.Pid, "conf", d.conf)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var why string
			select {
			case err := <-exited:
				why = fmt.Sprintf("dnsmasq exited (%v)", err)
			case <-d.changed:
				why = "config changed"
				terminate(cmd.Process, exited)
			case <-ctx.Done():
				terminate(cmd.Process, exited)
				d.m.dnsmasqUp.Store(0)
				lw.flush()
				d.log.Info("dnsmasq stopped")
				return
			}
			d.m.dnsmasqUp.Store(0)
			lw.flush()
			d.mu.Lock()
			d.proc = nil
			d.mu.Unlock()
			if why == "config changed" {
				d.log.Info("restarting dnsmasq: " + why)
				backoff = time.Second
				continue
			}
			d.log.Error(why + "; restarting it")
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		case <-d.changed:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// terminate stops a process: SIGTERM, then SIGKILL after 5 s.
func terminate(p *os.Process, exited <-chan error) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		p.Kill()
		<-exited
	}
}

// stop is for Close without Run: nothing runs then, but be sure.
func (d *supervisor) stop() {
	d.mu.Lock()
	p := d.proc
	d.mu.Unlock()
	if p != nil {
		p.Signal(syscall.SIGTERM)
	}
}

// pid is dnsmasq's process id, 0 when it is not running.
func (d *supervisor) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil {
		return 0
	}
	return d.proc.Pid
}

// lineLogger copies a program's output into the log, line by line.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Info(string(bytes.TrimRight(l.buf[:i], "\r")))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 {
		l.log.Info(string(l.buf))
		l.buf = nil
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.log.Info(string(l.buf))
		l.buf = nil
	}
}

var _ io.Writer = (*lineLogger)(nil)
