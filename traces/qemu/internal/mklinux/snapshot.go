//go:build !js

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/gdb"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/vm"
)

// snapshot boots the guest, stops it in user mode and writes into dir:
// regs.txt, tlb.txt, mem.txt, gva2gpa.txt, core.elf and console.log;
// with a gdbstub, attach.txt too: the trace of a short attach session.
func snapshot(ctx context.Context, o vm.Options, dir string) error {
	m, err := vm.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		m.Close()
		os.WriteFile(filepath.Join(dir, "console.log"), []byte(m.Console()), 0o644)
	}()
	if err := m.WaitConsole(ctx, Marker, 3*time.Minute); err != nil {
		return err
	}
	regs, err := stopInUser(m.QMP, memprocAddresses(m.Console()))
	if err != nil {
		return err
	}
	save := func(name, s string) error { return vm.WriteFileAtomic(filepath.Join(dir, name), []byte(s)) }
	if err := save("regs.txt", regs); err != nil {
		return err
	}
	tlb, err := m.QMP.HMP("info tlb")
	if err != nil {
		return err
	}
	if err := save("tlb.txt", tlb); err != nil {
		return err
	}
	// QEMU 7.2's `info mem` prints nothing under 5-level paging, after
	// walking for minutes: it is not asked there.
	mem := ""
	if !la57(regs) {
		if mem, err = m.QMP.HMP("info mem"); err != nil {
			return err
		}
	}
	if err := save("mem.txt", mem); err != nil {
		return err
	}
	leaves, err := qemu.ParseInfoTLB(strings.NewReader(tlb))
	if err != nil {
		return err
	}
	var g strings.Builder
	for _, va := range sampleAddresses(leaves, la57(regs)) {
		a, err := m.QMP.HMP(fmt.Sprintf("gva2gpa %#x", va))
		if err != nil {
			return err
		}
		fmt.Fprintf(&g, "%#x %s\n", va, strings.TrimSpace(a))
	}
	if err := save("gva2gpa.txt", g.String()); err != nil {
		return err
	}
	// QEMU writes the core itself: a temporary name, renamed when done.
	core := filepath.Join(dir, "core.elf")
	tmp := core + ".part"
	abs, _ := filepath.Abs(tmp)
	if _, err := m.QMP.Execute("dump-guest-memory", map[string]any{"paging": false, "protocol": "file:" + abs}); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, core); err != nil {
		return err
	}
	if o.GDBPort == 0 {
		return nil
	}
	// Then a gdbstub session: the guest runs again and is followed for a
	// few stops, as `explorer attach` does.
	if _, err := m.QMP.Execute("cont", nil); err != nil {
		return err
	}
	return followSession(ctx, o.GDBPort, filepath.Join(dir, "attach.txt"))
}

// followSession attaches to the guest's gdbstub, follows it for ten
// stops 200 ms apart, writes the trace and lets the guest go.
func followSession(ctx context.Context, port int, out string) error {
	c, err := gdb.Dial(ctx, fmt.Sprintf("127.0.0.1:%d", port), false)
	if err != nil {
		return err
	}
	defer c.Detach()
	f, err := qemu.Follow(c.Target(), qemu.FollowOptions{Period: 200 * time.Millisecond, Options: qemu.Options{Source: "linux-guest gdbstub"}})
	if err != nil {
		return err
	}
	for f.Stops < 10 {
		if _, err := f.Step(); err != nil {
			return err
		}
	}
	h, events := f.Trace()
	var b bytes.Buffer
	w := traces.NewTextWriter(&b)
	if err := w.WriteHeader(h); err != nil {
		return err
	}
	for _, e := range events {
		if err := w.WriteEvent(e); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return vm.WriteFileAtomic(out, b.Bytes())
}

// stopInUser stops the vCPU, and lets it run a little more until it is
// stopped at CPL 3 in one of the memproc processes (one of their own
// mappings, addrs, translates: not the shell, which runs at CPL 3 too),
// so that the core's CR3 is theirs. It returns `info registers` there.
func stopInUser(q *vm.QMP, addrs []uint64) (string, error) {
	if len(addrs) == 0 {
		return "", fmt.Errorf("the memproc processes printed no address on the console")
	}
	for try := 0; try < 300; try++ {
		if _, err := q.Execute("stop", nil); err != nil {
			return "", err
		}
		regs, err := q.HMP("info registers")
		if err != nil {
			return "", err
		}
		if strings.Contains(regs, "CPL=3") {
			for _, a := range addrs {
				if g, err := q.HMP(fmt.Sprintf("gva2gpa %#x", a)); err == nil && strings.HasPrefix(g, "gpa:") {
					return regs, nil
				}
			}
		}
		if _, err := q.Execute("cont", nil); err != nil {
			return "", err
		}
		time.Sleep(time.Duration(7+try%13) * time.Millisecond)
	}
	return "", fmt.Errorf("the vCPU was never stopped in a memproc process in 300 tries")
}

// memprocAddresses are the read-only regions the memproc processes
// printed ("ro 0x..."): mapped in their address spaces only.
func memprocAddresses(console string) []uint64 {
	var out []uint64
	for _, line := range strings.Split(console, "\n") {
		if !strings.HasPrefix(line, "memproc ") {
			continue
		}
		if _, rest, ok := strings.Cut(line, " ro "); ok {
			f := strings.Fields(rest)
			if v, err := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 64); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// la57 reads CR4.LA57 in `info registers`.
func la57(regs string) bool {
	_, rest, ok := strings.Cut(regs, "CR4=")
	if !ok || len(rest) < 8 {
		return false
	}
	cr4, err := strconv.ParseUint(strings.Fields(rest)[0], 16, 64)
	return err == nil && cr4&(1<<12) != 0
}

// sampleAddresses picks what to ask gva2gpa: up to 400 addresses inside
// leaves (spread over the whole list, at a random offset within the
// first 4 KiB, or within 2 MiB for a big page), the page just after each
// of up to 100 runs of leaves (often unmapped), and 50 random canonical
// addresses (nearly always unmapped). The seed is fixed: the same tables
// give the same questions.
func sampleAddresses(leaves []qemu.TLBLine, la57 bool) []uint64 {
	rng := rand.New(rand.NewPCG(15, 2026))
	var out []uint64
	step := max(1, len(leaves)/400)
	for i := 0; i < len(leaves); i += step {
		l := leaves[i]
		span := uint64(4096)
		if l.Big {
			span = 2 << 20
		}
		out = append(out, l.VA+rng.Uint64N(span)&^7)
	}
	runs := 0
	for i := 0; i+1 < len(leaves) && runs < 100; i++ {
		if leaves[i+1].VA != leaves[i].VA+4096 && !leaves[i].Big {
			out = append(out, leaves[i].VA+4096)
			runs++
		}
	}
	bits := uint(48)
	if la57 {
		bits = 57
	}
	for i := 0; i < 50; i++ {
		v := rng.Uint64() & (1<<bits - 1) &^ 0xfff
		if v&(1<<(bits-1)) != 0 {
			v |= ^uint64(0) << bits
		}
		out = append(out, v)
	}
	return out
}
