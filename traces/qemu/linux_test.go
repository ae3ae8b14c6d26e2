package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// The tests in this file compare the explorer with QEMU itself, on the
// real Linux guest `make linux-guest` boots (a Debian 6.1 kernel, two
// processes mapping memory, a module): its core, and what QEMU's own
// monitor said about the same stopped vCPU (info tlb, info mem, gva2gpa).
// They skip, saying why, when the cache is not there; `make test` makes
// it first.

// linuxCache is the linux-guest directory of one CPU configuration.
func linuxCache(t *testing.T, name string) string {
	t.Helper()
	root := os.Getenv("PGM_LINUX_CACHE")
	if root == "" {
		root = filepath.Join("..", "..", ".cache", "linux")
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		t.Skipf("no linux guest in %s: run `make linux-guest` (QEMU and a Debian kernel; make test does it)", dir)
	}
	return dir
}

// linuxSnapshot imports the guest's core and parses QEMU's answers.
type linuxSnapshot struct {
	snap  *Snapshot
	tlb   []TLBLine
	mem   []MemRange // empty under 5-level paging (QEMU 7.2 prints nothing there)
	g2g   []Translation
	ranks []engineConfig
}

func loadLinux(t *testing.T, name string) *linuxSnapshot {
	dir := linuxCache(t, name)
	f, err := os.Open(filepath.Join(dir, "core.elf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	c, err := OpenCore(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Import(c, ImportOptions{Options: Options{Source: name}})
	if err != nil {
		t.Fatal(err)
	}
	ls := &linuxSnapshot{snap: s}
	parse := func(file string, p func(*os.File) error) {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := p(f); err != nil {
			t.Fatal(err)
		}
	}
	parse("tlb.txt", func(f *os.File) (err error) { ls.tlb, err = ParseInfoTLB(f); return })
	parse("mem.txt", func(f *os.File) (err error) { ls.mem, err = ParseInfoMem(f); return })
	parse("gva2gpa.txt", func(f *os.File) (err error) { ls.g2g, err = ParseGva2gpa(f); return })
	if len(ls.tlb) == 0 || len(ls.g2g) == 0 {
		t.Fatalf("%s: QEMU listed %d leaves and %d translations", dir, len(ls.tlb), len(ls.g2g))
	}
	return ls
}

// TestLinuxLeavesMatchInfoTLB: the import reaches exactly the leaves
// QEMU's `info tlb` lists, with the same physical addresses and flags.
func TestLinuxLeavesMatchInfoTLB(t *testing.T) {
	for _, name := range []string{"4level", "5level"} {
		t.Run(name, func(t *testing.T) { leavesMatch(t, loadLinux(t, name)) })
	}
}

func leavesMatch(t *testing.T, ls *linuxSnapshot) {
	var got []Leaf
	if err := ls.snap.Tables.Leaves(func(l Leaf) bool { got = append(got, l); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ls.tlb) {
		t.Fatalf("%d leaves, QEMU lists %d", len(got), len(ls.tlb))
	}
	for i, q := range ls.tlb {
		l, e := got[i], got[i].Entry
		if l.VA != q.VA || l.PA != q.PA || e.NoExec() != q.NX || e.Global() != q.G || (l.Level != x86.LevelPT) != q.Big ||
			e.Dirty() != q.D || e.Accessed() != q.A || e.User() != q.User || e.Writable() != q.Write {
			t.Fatalf("leaf %d: %#x -> %#x %s (%v), QEMU: %+v", i, l.VA, l.PA, e.FlagString(), l.Level, q)
		}
	}
}

// outcome is what the guest sees of one access.
type outcome struct {
	ok    bool
	gpa   uint64
	code  x86.ErrorCode
	kind  x86.FaultKind
	value uint64
}

func (o outcome) String() string {
	if o.ok {
		return fmt.Sprintf("ok gpa %#x value %#x", o.gpa, o.value)
	}
	return fmt.Sprintf("fault %v code %v", o.kind, o.code)
}

// prober applies accesses to an engine that has replayed a snapshot.
type prober struct {
	t   *testing.T
	eng engine.Engine
	cpl uint8
	log []outcome
}

func (p *prober) apply(e engine.Event) outcome {
	if e.Kind == engine.EvCPL {
		p.cpl = uint8(e.Value)
	}
	o, err := p.eng.Apply(e)
	if err != nil {
		p.t.Fatalf("%s %#x: %v", e.Op(), e.Addr, err)
	}
	out := outcome{ok: o.OK, gpa: uint64(o.GPA), code: o.Fault.Code, kind: o.Fault.Kind, value: o.Value}
	if e.Kind.Access() {
		p.log = append(p.log, out)
	}
	return out
}

func (p *prober) setCPL(c uint8) {
	if p.cpl != c {
		p.apply(engine.Event{Kind: engine.EvCPL, Value: uint64(c)})
	}
}

// effective looks the effective user and write rights of va up in
// `info mem`; known is false where it has no line for va.
func (ls *linuxSnapshot) effective(va uint64) (user, write, known bool) {
	i := sort.Search(len(ls.mem), func(i int) bool { return ls.mem[i].End > va })
	if i < len(ls.mem) && ls.mem[i].Start <= va {
		return ls.mem[i].User, ls.mem[i].Write, true
	}
	return false, false, false
}

// TestLinuxAttachTrace: the trace of the gdbstub session `make
// linux-guest` keeps (ten stops of the running guest) replays to the
// same guest-visible outcomes on the reference CPU, the shadow engine
// under two host modes with a small pool, and nested paging.
func TestLinuxAttachTrace(t *testing.T) {
	for _, name := range []string{"4level", "5level"} {
		t.Run(name, func(t *testing.T) {
			h, events := testkit.ReadTrace(t, filepath.Join(linuxCache(t, name), "attach.txt"))
			stops := 0
			for _, e := range events {
				if e.Kind == engine.EvLabel && strings.HasPrefix(e.Text, "stop ") {
					stops++
				}
			}
			if stops != 10 {
				t.Errorf("%d stops, want 10", stops)
			}
			var ref []outcome
			for _, cfg := range engineConfigs(h.Config) {
				eng, err := cfg.new(cfg.Config)
				if err != nil {
					t.Fatal(err)
				}
				p := &prober{t: t, eng: eng}
				for _, e := range events {
					p.apply(e)
				}
				if ref == nil {
					ref = p.log
					continue
				}
				for i := range ref {
					if p.log[i] != ref[i] {
						t.Fatalf("%s: access %d: %v, the reference %v", cfg.name, i, p.log[i], ref[i])
					}
				}
			}
			if len(ref) < 10 {
				t.Errorf("%d accesses", len(ref))
			}
		})
	}
}
