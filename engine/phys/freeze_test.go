package phys

import (
	"bytes"
	"testing"
)

// TestLoadFrozenShares: loading a frozen page into a page on the zero
// page counts and caches exactly what WriteNoHandler of its bytes does,
// but the page's frame takes the frozen bytes themselves; the next write
// copies them, and the frozen value keeps its content.
func TestLoadFrozenShares(t *testing.T) {
	spec := RangeSpec{Type: TypeRAM, Start: 0, Size: 1 << 20, Name: "ram"}
	m, ref := newMem(t, spec), newMem(t, spec)
	for _, mem := range []*Memory{m, ref} {
		mem.Write(0x3008, 8, 0x1122334455667788)
	}
	f, err := m.Freeze(0x3000)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(f.Bytes())
	// A reset frees the frame: the frozen value keeps the bytes alone.
	m.Reset()
	ref.Reset()
	if m.Frozen() != 0 {
		t.Fatalf("%d frames frozen after a reset", m.Frozen())
	}
	m.LoadFrozen(0x5000, f)
	ref.WriteNoHandler(0x5000, want)
	if m.Stats() != ref.Stats() {
		t.Errorf("LoadFrozen counts %+v, WriteNoHandler %+v", m.Stats(), ref.Stats())
	}
	p, _, _ := m.Lookup(0x5000)
	pr, _, _ := ref.Lookup(0x5000)
	if *p != *pr {
		t.Errorf("LoadFrozen leaves the page %v, WriteNoHandler %v", *p, *pr)
	}
	if got := m.PageBytes(0x5000); &got[0] != &f.Bytes()[0] || m.Frozen() != 1 {
		t.Errorf("the page does not share the frozen bytes (%d frozen)", m.Frozen())
	}
	mustCheck(t, m)
	m.Write(0x5010, 4, 0xdeadbeef)
	ref.Write(0x5010, 4, 0xdeadbeef)
	if !bytes.Equal(f.Bytes(), want) || m.Frozen() != 0 {
		t.Errorf("a write after LoadFrozen changed the frozen bytes (%d frozen)", m.Frozen())
	}
	for _, mem := range []*Memory{m, ref} {
		if a, b := mem.Read(0x5010, 4), mem.Read(0x5008, 8); a != 0xdeadbeef || b != 0x1122334455667788 {
			t.Errorf("the page reads %#x and %#x", a, b)
		}
	}
	if m.Stats() != ref.Stats() {
		t.Errorf("after a write: %+v, WriteNoHandler's twin %+v", m.Stats(), ref.Stats())
	}
	mustCheck(t, m)
	// A frozen value its frame still shares is copied, not shared twice.
	g, _ := m.Freeze(0x5000)
	m.LoadFrozen(0x7000, g)
	if got := m.PageBytes(0x7000); &got[0] == &g.Bytes()[0] || !bytes.Equal(got, g.Bytes()) {
		t.Error("a frozen value still on its frame was loaded by sharing, or not at all")
	}
	mustCheck(t, m)
}
