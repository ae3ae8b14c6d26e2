package gdb

import (
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
)

// Target adapts the client to qemu.Target, for qemu.Follow.
func (c *Client) Target() qemu.Target { return target{c} }

type target struct{ c *Client }

func (t target) ReadPhys(gpa uint64, b []byte) error { return t.c.ReadPhys(gpa, b) }
func (t target) Continue() error                     { return t.c.Continue() }

func (t target) WaitStop(d time.Duration) (bool, error) {
	st, err := t.c.WaitStop(d)
	return st != nil, err
}

func (t target) Interrupt(d time.Duration) error {
	_, err := t.c.Interrupt(d)
	return err
}

// Regs reads the paging registers: eight `p` requests.
func (t target) Regs() (qemu.Regs, error) {
	var v [8]uint64
	for i, name := range []string{"cr0", "cr3", "cr4", "efer", "rip", "rsp", "cs", "eflags"} {
		x, err := t.c.Reg(name)
		if err != nil {
			return qemu.Regs{}, err
		}
		v[i] = x
	}
	r := qemu.Regs{CR0: v[0], CR3: v[1], CR4: v[2], EFER: v[3], RIP: v[4], RSP: v[5], AC: v[7]&(1<<18) != 0, EFERKnown: true}
	if r.CR0&1 != 0 {
		r.CPL = uint8(v[6] & 3)
	}
	return r, nil
}
