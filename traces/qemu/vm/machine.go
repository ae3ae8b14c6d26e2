//go:build !js

package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe a guest to boot.
type Options struct {
	QEMU    string // the emulator; default "qemu-system-x86_64"
	Kernel  string // bzImage / vmlinuz
	Initrd  string // initramfs (cpio)
	Append  string // kernel command line; the console is added (ttyS0)
	CPU     string // -cpu model and flags, e.g. "qemu64" or "max,la57=on"
	MemMiB  int    // guest RAM; default 256
	Dir     string // where the QMP socket goes; must exist
	GDBPort int    // >0: a gdbstub on 127.0.0.1:GDBPort
}

// Machine is a running QEMU.
type Machine struct {
	QMP     *QMP
	cmd     *exec.Cmd
	console *ring
	done    chan struct{}
	waitErr error
}

// Start boots the guest and connects to its QMP socket. The QEMU process
// dies with the caller (parent-death signal), so a crashed test leaves
// no emulator behind.
func Start(ctx context.Context, o Options) (*Machine, error) {
	if o.QEMU == "" {
		o.QEMU = "qemu-system-x86_64"
	}
	if o.MemMiB == 0 {
		o.MemMiB = 256
	}
	sock := filepath.Join(o.Dir, "qmp.sock")
	os.Remove(sock)
	args := []string{
		"-accel", "tcg", "-smp", "1", "-m", strconv.Itoa(o.MemMiB) + "M",
		"-nic", "none", "-nographic", "-monitor", "none", "-no-reboot",
		"-cpu", o.CPU,
		"-kernel", o.Kernel, "-initrd", o.Initrd,
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 " + o.Append),
		"-qmp", "unix:" + sock + ",server=on,wait=off",
	}
	if o.GDBPort > 0 {
		args = append(args, "-gdb", "tcp:127.0.0.1:"+strconv.Itoa(o.GDBPort))
	}
	cmd := exec.Command(o.QEMU, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	m := &Machine{cmd: cmd, console: &ring{max: 1 << 20}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.console, m.console
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { m.waitErr = cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		q, err := DialQMP(sock, 5*time.Second)
		if err == nil {
			m.QMP = q
			return m, nil
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("qemu exited at start (%v): %s", m.waitErr, m.console.tail(2000))
		case <-ctx.Done():
			m.Kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Kill()
			return nil, fmt.Errorf("qmp socket %s: %w", sock, err)
		}
	}
}

// WaitConsole waits until the console has printed marker.
func (m *Machine) WaitConsole(ctx context.Context, marker string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !strings.Contains(m.console.String(), marker) {
		select {
		case <-m.done:
			return fmt.Errorf("qemu exited before %q (%v); console ends with:\n%s", marker, m.waitErr, m.console.tail(2000))
		case <-ctx.Done():
			return fmt.Errorf("no %q on the console after %v; it ends with:\n%s", marker, timeout, m.console.tail(2000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Console is what the guest printed so far (the last MiB).
func (m *Machine) Console() string { return m.console.String() }

// Close asks QEMU to quit and kills it if it has not after a few seconds.
func (m *Machine) Close() error {
	if m.QMP != nil {
		m.QMP.Timeout = 5 * time.Second
		m.QMP.Execute("quit", nil)
		m.QMP.Close()
	}
	select {
	case <-m.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	return m.Kill()
}

// Kill ends QEMU at once.
func (m *Machine) Kill() error {
	m.cmd.Process.Kill()
	<-m.done
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ring keeps the last max bytes written to it.
type ring struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Write(p)
	if over := r.buf.Len() - r.max; over > 0 {
		b := append([]byte(nil), r.buf.Bytes()[over:]...)
		r.buf.Reset()
		r.buf.Write(b)
	}
	return len(p), nil
}

func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func (r *ring) tail(n int) string {
	s := r.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// ErrNoQEMU is returned by Find when the emulator is not installed.
var ErrNoQEMU = errors.New("qemu-system-x86_64 not found: run `make linux-guest`")
