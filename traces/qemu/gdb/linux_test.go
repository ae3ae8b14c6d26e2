//go:build !js

package gdb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/vm"
)

// bootLinux boots the linux-guest (4-level CPU) with a gdbstub on a free
// loopback port, or skips when `make linux-guest` has not run.
func bootLinux(t testing.TB) (*vm.Machine, int) {
	t.Helper()
	root := os.Getenv("PGM_LINUX_CACHE")
	if root == "" {
		root = filepath.Join("..", "..", "..", ".cache", "linux")
	}
	kernels, _ := filepath.Glob(filepath.Join(root, "kernel", "boot", "vmlinuz-*"))
	initrd := filepath.Join(root, "initramfs.cpio")
	if _, err := os.Stat(initrd); err != nil || len(kernels) != 1 {
		t.Skipf("no linux guest in %s: run `make linux-guest` (QEMU and a Debian kernel; make test does it)", root)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("no qemu-system-x86_64: run `make linux-guest`")
	}
	port, err := vm.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.Start(context.Background(), vm.Options{Kernel: kernels[0], Initrd: initrd, CPU: "max,-smep,-smap,-pku,la57=off",
		Dir: t.TempDir(), GDBPort: port, Append: "nokaslr quiet"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.WaitConsole(context.Background(), "PGM-GUEST-READY", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	return m, port
}

// moment is what QEMU said about one stop of the follower.
type moment struct {
	events int // the trace's length at the stop
	cr3    uint64
	tlb    []qemu.TLBLine
}

// TestAttachLinux follows the real guest through QEMU's gdbstub until it
// has stopped in both user processes (a CR3 switch between two of them),
// asking QEMU's monitor for `info tlb` at every stop; the trace, replayed
// through the reference CPU, the shadow engine with a small pool and
// nested paging, gives at each stop the physical address QEMU lists for
// every user leaf and a sample of kernel leaves, and faults where the
// leaf's U bit says a user access must.
func TestAttachLinux(t *testing.T) {
	m, port := bootLinux(t)
	c, err := Dial(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	f, err := qemu.Follow(c.Target(), qemu.FollowOptions{Period: 150 * time.Millisecond, Options: qemu.Options{Source: "linux-guest"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first snapshot over the gdbstub: %v", time.Since(t0))
	var moments []moment
	userCR3 := map[uint64]bool{}
	for f.Stops < 80 && len(userCR3) < 2 {
		if _, err := f.Step(); err != nil {
			t.Fatal(err)
		}
		r, err := c.Target().Regs()
		if err != nil {
			t.Fatal(err)
		}
		if r.CPL != 3 {
			continue
		}
		out, err := m.QMP.HMP("info tlb")
		if err != nil {
			t.Fatal(err)
		}
		tlb, err := qemu.ParseInfoTLB(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		_, events := f.Trace()
		moments = append(moments, moment{events: len(events), cr3: r.CR3, tlb: tlb})
		userCR3[r.CR3] = true
	}
	if len(userCR3) < 2 {
		t.Fatalf("%d stops, %d CR3 switches, but the vCPU was never stopped in a second user process", f.Stops, f.Switches)
	}
	// Then at a breakpoint the user names: the kernel's context switch,
	// whose address the guest printed (Debian's System.map is a stub).
	if sw := switchTo(m.Console()); sw != 0 {
		if err := c.SetBreakpoint(sw); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			why, err := f.Step()
			if err != nil {
				t.Fatal(err)
			}
			r, _ := c.Target().Regs()
			if why != "breakpoint" || r.RIP != sw {
				t.Errorf("stop at the breakpoint %#x: %s at %#x", sw, why, r.RIP)
			}
		}
	} else {
		t.Error("the guest did not print where __switch_to is")
	}
	if err := c.Detach(); err != nil {
		t.Error(err)
	}
	h, events := f.Trace()
	t.Logf("%d stops, %d CR3 switches, %d entries changed, %d events; checked at %d user-mode stops", f.Stops, f.Switches, f.Changed, len(events), len(moments))
	for _, cfg := range []struct {
		name  string
		setup func(*engine.Config)
	}{
		{"reference", nil},
		{"shadow pool 32", func(c *engine.Config) { c.PoolPages = 32 }},
		{"nested", func(c *engine.Config) { c.Paging = engine.PagingNested }},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			conf := h.Config
			var eng engine.Engine
			var err error
			if cfg.setup == nil {
				eng, err = engine.NewReference(conf)
			} else {
				cfg.setup(&conf)
				eng, err = engine.NewShadow(conf)
			}
			if err != nil {
				t.Fatal(err)
			}
			next, cpl := 0, uint64(0)
			for i, e := range events {
				for next < len(moments) && moments[next].events == i {
					checkMoment(t, eng, moments[next], cpl)
					next++
				}
				if e.Kind == engine.EvCPL {
					cpl = e.Value
				}
				if _, err := eng.Apply(e); err != nil {
					t.Fatalf("event %d %s: %v", i, e.Op(), err)
				}
			}
			for ; next < len(moments); next++ {
				checkMoment(t, eng, moments[next], cpl)
			}
		})
	}
}

// checkMoment probes every user leaf and every 64th kernel leaf QEMU
// listed, then puts the CPL back where the trace had it.
func checkMoment(t *testing.T, eng engine.Engine, mo moment, cpl uint64) {
	t.Helper()
	if got := eng.Regs().CR3; got != mo.cr3 {
		t.Errorf("the trace has CR3 %#x where QEMU stopped with %#x", got, mo.cr3)
	}
	apply := func(e engine.Event) engine.Outcome {
		o, err := eng.Apply(e)
		if err != nil {
			t.Fatalf("%s %#x: %v", e.Op(), e.Addr, err)
		}
		return o
	}
	bad := 0
	for _, level := range []uint64{0, 3} {
		apply(engine.Event{Kind: engine.EvCPL, Value: level})
		for i, q := range mo.tlb {
			if !q.User && i%64 != 0 {
				continue
			}
			o := apply(engine.Event{Kind: engine.EvRead, Size: 1, Addr: q.VA})
			want := level == 0 || q.User
			if o.OK != want || (o.OK && uint64(o.GPA) != q.PA) {
				if bad++; bad <= 5 {
					t.Errorf("CR3 %#x, CPL %d, %#x: %+v; QEMU: -> %#x, U=%v", mo.cr3, level, q.VA, o, q.PA, q.User)
				}
			}
		}
	}
	apply(engine.Event{Kind: engine.EvCPL, Value: cpl})
}

// BenchmarkAttachSnapshot: one snapshot of the stopped linux-guest over
// the gdbstub on loopback: registers, every table page reachable from
// CR3 (in 1 KiB `m` requests), the trace's events.
func BenchmarkAttachSnapshot(b *testing.B) {
	_, port := bootLinux(b)
	c, err := Dial(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), false)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		f, err := qemu.Follow(c.Target(), qemu.FollowOptions{Options: qemu.Options{Source: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		_, ev := f.Trace()
		b.ReportMetric(float64(len(ev)), "events")
	}
}

// switchTo finds "switch_to: ADDR" in the guest's console output.
func switchTo(console string) uint64 {
	_, rest, ok := strings.Cut(console, "switch_to: ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseUint(f[0], 16, 64)
	return v
}
