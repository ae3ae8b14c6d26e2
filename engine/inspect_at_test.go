package engine_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// TestVisitGuestAt: the tables of an address space not loaded read as
// they did while it was (PAE: the PDPTEs from memory, not the
// registers), and those of the loaded one as VisitGuest reads them.
func TestVisitGuestAt(t *testing.T) {
	const twoPAE = `pgmtrace 1
ram 0 16M ram
host pae
pw8 0x200000 0x201001
pw8 0x201000 0x202007
pw8 0x202000 0x300003
pw8 0x202008 0x301003
pw8 0x210018 0x211001
pw8 0x211000 0x212007
pw8 0x212010 0x400003
cr3 0x200000
cr4 0x20
cr0 0x80000011
`
	list := func(visit func(fn func(engine.EntryView) bool)) string {
		s := ""
		visit(func(v engine.EntryView) bool {
			s += fmt.Sprintf("%d %v %#x %#x\n", v.Depth, v.Level, uint64(v.VA), uint64(v.Entry))
			return true
		})
		return s
	}
	e, _ := run(t, twoPAE)
	a := list(func(fn func(engine.EntryView) bool) { e.VisitGuest(100, fn) })
	if a == "" {
		t.Fatal("no entries in the loaded address space")
	}
	if got := list(func(fn func(engine.EntryView) bool) { e.VisitGuestAt(0x200000, 100, fn) }); got != a {
		t.Errorf("VisitGuestAt(the loaded CR3):\n%s\nVisitGuest:\n%s", got, a)
	}
	e2, _ := run(t, twoPAE+"cr3 0x210000\n")
	b := list(func(fn func(engine.EntryView) bool) { e2.VisitGuest(100, fn) })
	if got := list(func(fn func(engine.EntryView) bool) { e2.VisitGuestAt(0x200000, 100, fn) }); got != a {
		t.Errorf("after loading another CR3, the first address space reads\n%s\nwant\n%s", got, a)
	}
	if b == a || b == "" {
		t.Errorf("the second address space reads\n%s", b)
	}
	// The budget bounds the walk.
	n := 0
	e2.VisitGuestAt(0x200000, 2, func(engine.EntryView) bool { n++; return true })
	if n != 2 {
		t.Errorf("budget 2: %d entries visited", n)
	}
}
