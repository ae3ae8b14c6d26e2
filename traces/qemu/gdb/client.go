// Package gdb is a client of the GDB remote serial protocol as QEMU's
// gdbstub speaks it (`-gdb tcp:127.0.0.1:PORT`, or `-s`), enough to
// follow a guest's paging: the target description for register numbers
// (CR0, CR3, CR4 and EFER included), `p` to read one register,
// `Qqemu.PhyMemMode:1` and `m` to read guest-physical memory, `c` to
// resume, the 0x03 byte to interrupt, and Z0 breakpoints. It is not
// part of the browser build (it opens network connections).
//
// Attach follows a guest with a qemu.Follower on its own goroutine and
// hands each stop's events to a growing session source (Live): explorer
// attach saves them, the window (explorer gui --attach) plays them as
// they arrive.
//
// The client refuses an address that is not loopback unless told
// otherwise: the stub has no authentication, and a guest's memory is
// as private as a machine's.
package gdb

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Client is a connection to a gdbstub. It is not safe for concurrent
// use.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	// Timeout bounds each request's answer (0: DefaultTimeout).
	Timeout time.Duration
	regs    map[string]Register
	running bool
}

// Register is one register of the target description.
type Register struct {
	Name    string
	Num     int
	BitSize int
}

// DefaultTimeout bounds the answer to one request.
const DefaultTimeout = 10 * time.Second

// ErrNotLoopback is returned by Dial for a non-loopback address when
// remote addresses are not allowed.
var ErrNotLoopback = errors.New("not a loopback address (the gdbstub has no authentication: pass --allow-remote to connect anyway)")

// Dial connects to the stub at addr ("127.0.0.1:1234"), negotiates, and
// reads the target description. QEMU stops the guest when a debugger
// connects; the client starts in the stopped state.
func Dial(ctx context.Context, addr string, allowRemote bool) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if !allowRemote {
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if !ip.IP.IsLoopback() {
				return nil, fmt.Errorf("%s: %w", addr, ErrNotLoopback)
			}
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if err := c.handshake(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("gdbstub %s: %w", addr, err)
	}
	return c, nil
}

// NewClient runs the handshake over an existing connection (tests use
// a fake stub on a pipe).
func NewClient(conn net.Conn) (*Client, error) {
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if err := c.handshake(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake() error {
	sup, err := c.Request("qSupported:xmlRegisters=i386")
	if err != nil {
		return err
	}
	if !strings.Contains(string(sup), "qXfer:features:read+") {
		return fmt.Errorf("%w: the stub offers no target description (qSupported: %q)", ErrProtocol, clip(sup))
	}
	if c.regs, err = c.targetRegisters(); err != nil {
		return err
	}
	for _, need := range []string{"rip", "rsp", "cs", "eflags", "cr0", "cr3", "cr4", "efer"} {
		if _, ok := c.regs[need]; !ok {
			return fmt.Errorf("%w: the target description has no register %s (an x86-64 QEMU is needed)", ErrProtocol, need)
		}
	}
	if _, err := c.Request("?"); err != nil {
		return err
	}
	reply, err := c.Request("Qqemu.PhyMemMode:1")
	if err != nil {
		return err
	}
	if string(reply) != "OK" {
		return fmt.Errorf("%w: Qqemu.PhyMemMode:1 answered %q (a QEMU gdbstub is needed to read physical memory)", ErrProtocol, clip(reply))
	}
	return nil
}

// Close closes the connection; QEMU lets the guest run again when its
// debugger goes away.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) deadline() {
	t := c.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	c.conn.SetDeadline(time.Now().Add(t))
}

// Request sends one packet and returns the answer. An "Enn" answer is
// an error matching ErrStub.
func (c *Client) Request(cmd string) ([]byte, error) {
	if c.running {
		return nil, fmt.Errorf("%s: the guest is running (stop it first)", cmd)
	}
	c.deadline()
	if err := c.send(cmd); err != nil {
		return nil, err
	}
	reply, err := readPacket(c.r, c.conn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return reply, stubError(cmd, reply)
}

// send writes a packet and waits for its acknowledgement, sending it
// again when the stub asks ('-').
func (c *Client) send(cmd string) error {
	pkt := encode([]byte(cmd))
	for try := 0; try < maxRetry; try++ {
		if _, err := c.conn.Write(pkt); err != nil {
			return err
		}
	ack:
		for noise := 0; ; noise++ {
			b, err := c.r.ReadByte()
			if err != nil {
				return fmt.Errorf("%s: %w", cmd, err)
			}
			switch {
			case b == '+':
				return nil
			case b == '-':
				break ack
			case b == '$':
				// A packet the stub sent on its own (QEMU announces the stop
				// it makes when a debugger connects): take it and wait on.
				c.r.UnreadByte()
				if _, err := readPacket(c.r, c.conn); err != nil {
					return fmt.Errorf("%s: %w", cmd, err)
				}
			case noise > MaxNoise:
				return fmt.Errorf("%w: %s: %q where an acknowledgement belongs", ErrProtocol, cmd, b)
			}
		}
	}
	return fmt.Errorf("%w: %s refused %d times", ErrProtocol, cmd, maxRetry)
}

// Reg reads one register by its target-description name.
func (c *Client) Reg(name string) (uint64, error) {
	r, ok := c.regs[name]
	if !ok {
		return 0, fmt.Errorf("no register %s", name)
	}
	reply, err := c.Request("p" + strconv.FormatInt(int64(r.Num), 16))
	if err != nil {
		return 0, err
	}
	b, err := hex.DecodeString(string(reply))
	if err != nil || len(b) == 0 || len(b) > 8 {
		return 0, fmt.Errorf("%w: register %s: %q is not a little-endian value of up to 8 bytes", ErrProtocol, name, clip(reply))
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// chunk is what one `m` request reads: its hex answer stays under the
// 4 KiB packet QEMU announces.
const chunk = 1024

// ReadPhys reads guest-physical memory (the client put the stub in
// physical-memory mode).
func (c *Client) ReadPhys(gpa uint64, b []byte) error {
	for done := 0; done < len(b); {
		n := min(chunk, len(b)-done)
		reply, err := c.Request(fmt.Sprintf("m%x,%x", gpa+uint64(done), n))
		if err != nil {
			return err
		}
		if len(reply) != 2*n {
			return fmt.Errorf("%w: reading %#x: %d hex digits for %d bytes", ErrProtocol, gpa+uint64(done), len(reply), n)
		}
		if _, err := hex.Decode(b[done:done+n], reply); err != nil {
			return fmt.Errorf("%w: reading %#x: %v", ErrProtocol, gpa+uint64(done), err)
		}
		done += n
	}
	return nil
}

// SetBreakpoint inserts a software breakpoint at a linear address.
func (c *Client) SetBreakpoint(va uint64) error {
	reply, err := c.Request(fmt.Sprintf("Z0,%x,1", va))
	if err != nil {
		return err
	}
	if string(reply) != "OK" {
		return fmt.Errorf("breakpoint at %#x: the stub answered %q", va, clip(reply))
	}
	return nil
}
