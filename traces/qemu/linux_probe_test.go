package qemu

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// linuxProbeConfigs are the guests TestLinuxAgainstQEMU probes: 4-level
// paging, and 5-level paging with SMEP, SMAP and protection keys.
var linuxProbeConfigs = []string{"4level", "5level"}

// maxWriteProbes bounds the writes that succeed: each one gives the
// engine a page of its own (a write of the byte just read changes no
// data but allocates the page), and the direct map alone has 65536.
// Writes that must fault cost nothing and are all made.
const maxWriteProbes = 2000

// TestLinuxAgainstQEMU: for every present leaf QEMU's `info tlb` lists
// and every `gva2gpa` answer, the imported trace replayed through the
// reference CPU, the shadow engine (two host modes, a pool of 32 pages)
// and nested paging gives QEMU's physical address, faults where QEMU's
// rights say it must (U and W from `info mem`, which ANDs them over the
// levels, NX from the leaf), and every engine sees what the reference
// sees.
func TestLinuxAgainstQEMU(t *testing.T) {
	for _, name := range linuxProbeConfigs {
		t.Run(name, func(t *testing.T) { testAgainstQEMU(t, loadLinux(t, name)) })
	}
}

func testAgainstQEMU(t *testing.T, ls *linuxSnapshot) {
	var ref []outcome
	for _, cfg := range engineConfigs(ls.snap.Header.Config) {
		t.Run(cfg.name, func(t *testing.T) {
			eng, err := cfg.new(cfg.Config)
			if err != nil {
				t.Fatal(err)
			}
			p := &prober{t: t, eng: eng}
			for _, e := range ls.snap.Events {
				p.apply(e)
			}
			p.log = p.log[:0]
			ls.probe(t, p)
			if ref == nil {
				ref = p.log
				return
			}
			if len(p.log) != len(ref) {
				t.Fatalf("%d outcomes, the reference %d", len(p.log), len(ref))
			}
			for i := range ref {
				if p.log[i] != ref[i] {
					t.Fatalf("access %d: %v, the reference %v", i, p.log[i], ref[i])
				}
			}
		})
	}
}

// probe makes the accesses and checks them against QEMU's answers.
func (ls *linuxSnapshot) probe(t *testing.T, p *prober) {
	nx := ls.snap.Regs.EFER&eferNXE != 0
	smep, smap := ls.snap.Regs.CR4&x86.CR4SMEP != 0, ls.snap.Regs.CR4&x86.CR4SMAP != 0
	writes, errs := 0, 0
	fail := func(format string, a ...any) {
		if errs++; errs <= 10 {
			t.Errorf(format, a...)
		}
	}
	p.setCPL(0)
	if smap {
		// SMAP forbids the supervisor's data accesses to user pages
		// unless RFLAGS.AC is set: set it, so that rights and addresses
		// are compared on every page (SMEP still applies to fetches).
		p.apply(engine.Event{Kind: engine.EvAC, Value: 1})
	}
	for _, q := range ls.tlb {
		user, write, known := ls.effective(q.VA)
		if !known {
			user = q.User
		}
		r := p.apply(engine.Event{Kind: engine.EvRead, Size: 1, Addr: q.VA})
		if !r.ok || r.gpa != q.PA {
			fail("%#x: supervisor read %v, QEMU maps it to %#x", q.VA, r, q.PA)
			continue
		}
		if q.Big {
			if o := p.apply(engine.Event{Kind: engine.EvRead, Size: 1, Addr: q.VA + 0x1008}); !o.ok || o.gpa != q.PA+0x1008 {
				fail("%#x+0x1008 in a big page: %v, want %#x", q.VA, o, q.PA+0x1008)
			}
		}
		if x := p.apply(engine.Event{Kind: engine.EvExec, Addr: q.VA}); x.ok != (!(nx && q.NX) && !(smep && user)) {
			fail("%#x: fetch %v; QEMU's leaf NX=%v U=%v (EFER.NXE %v, SMEP %v)", q.VA, x, q.NX, q.User, nx, smep)
		}
		// CR0.WP=1 (Linux): the supervisor writes only where W is set at
		// every level.
		if !known {
			write = q.Write // no info mem line: the leaf's W is all we know
		}
		if !write || writes < maxWriteProbes {
			w := p.apply(engine.Event{Kind: engine.EvWrite, Size: 1, Addr: q.VA, Value: r.value})
			if w.ok != write || (!q.Write && w.ok) {
				fail("%#x: supervisor write %v; QEMU: leaf W=%v, info mem w=%v", q.VA, w, q.Write, write)
			}
			if w.ok {
				writes++
			}
		}
	}
	p.setCPL(3)
	for _, q := range ls.tlb {
		user, write, known := ls.effective(q.VA)
		if !known {
			user, write = q.User, q.Write && q.User
		}
		r := p.apply(engine.Event{Kind: engine.EvRead, Size: 1, Addr: q.VA})
		if r.ok != user || (!q.User && r.ok) {
			fail("%#x: user read %v; QEMU: leaf U=%v, info mem u=%v", q.VA, r, q.User, user)
			continue
		}
		if r.ok && r.gpa != q.PA {
			fail("%#x: user read at %#x, QEMU %#x", q.VA, r.gpa, q.PA)
		}
		if user && (!write || writes < 2*maxWriteProbes) {
			w := p.apply(engine.Event{Kind: engine.EvWrite, Size: 1, Addr: q.VA, Value: r.value})
			if w.ok != (user && write) {
				fail("%#x: user write %v; QEMU: leaf U=%v W=%v, info mem w=%v", q.VA, w, q.User, q.Write, write)
			}
			if w.ok {
				writes++
			}
		}
	}
	// QEMU's own walk of sampled addresses, mapped and unmapped, at CPL 0
	// (rights aside: gva2gpa ignores them; AC is still set under SMAP).
	p.setCPL(0)
	mapped := 0
	for _, g := range ls.g2g {
		r := p.apply(engine.Event{Kind: engine.EvRead, Size: 1, Addr: g.VA})
		switch {
		case g.Mapped && (!r.ok || r.gpa != g.PA):
			fail("gva2gpa %#x = %#x; the engine: %v", g.VA, g.PA, r)
		case !g.Mapped && (r.ok || r.kind != x86.NotPresent):
			fail("gva2gpa %#x: unmapped; the engine: %v", g.VA, r)
		}
		if g.Mapped {
			mapped++
		}
	}
	if mapped == 0 || mapped == len(ls.g2g) {
		t.Errorf("gva2gpa sample: %d of %d mapped; want both kinds", mapped, len(ls.g2g))
	}
	if errs > 10 {
		t.Errorf("... %d differences in all", errs)
	}
	t.Logf("%d leaves, %d writes that succeeded, %d gva2gpa answers (%d mapped)", len(ls.tlb), writes, len(ls.g2g), mapped)
}
