package x86_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

var update = flag.Bool("update", false, "rewrite testdata/walks/*.golden from the current output")

// goldenWalk is one dumped scenario: tables built by mapVA, one access,
// and optionally the A/D update afterwards (dumped a second time).
type goldenWalk struct {
	name  string
	mode  x86.Mode
	cr4   uint64
	va    x86.GVA
	flags []uint64
	leaf  uint64
	acc   x86.Access
	wp    bool
	ad    bool    // call SetAccessedDirty and dump again
	vaArg x86.GVA // address walked, when it differs from va
	prot  x86.Protect
}

func TestGoldenWalks(t *testing.T) {
	ps, nx := uint64(x86.PS), uint64(x86.NX)
	user := func(k x86.AccessKind) x86.Access { return x86.Access{Kind: k, User: true} }
	sup := func(k x86.AccessKind) x86.Access { return x86.Access{Kind: k} }
	for _, c := range []goldenWalk{
		{name: "32bit-4k-user-read", mode: x86.Mode32Bit, va: 0x0804_8123, flags: []uint64{0x27, 0x05}, leaf: 0x0030_0000, acc: user(x86.Read), wp: true, ad: true},
		{name: "32bit-4m-pse36-write", mode: x86.Mode32Bit, cr4: pse, va: 0xc012_3456, flags: []uint64{0x03}, leaf: 0x8c40_0000 | 0x12<<13 | ps, acc: sup(x86.Write), wp: true, ad: true},
		{name: "32bit-pte-not-present", mode: x86.Mode32Bit, va: 0x0040_1000, flags: []uint64{0x07, 0x06}, leaf: 0x0055_5000, acc: user(x86.Fetch), wp: true},
		{name: "pae-2m-user-fetch", mode: x86.ModePAE, va: 0xbfe0_1234, flags: []uint64{0x01, 0x07}, leaf: 0x3_4560_0000 | ps, acc: user(x86.Fetch), wp: true},
		{name: "pae-pdpte-rw-reserved", mode: x86.ModePAE, va: 0x0000_2000, flags: []uint64{0x03, 0x07, 0x07}, leaf: 0x9000, acc: sup(x86.Write), wp: true},
		{name: "paenx-xd-fetch", mode: x86.ModePAENX, va: 0x4000_5000, flags: []uint64{0x01, 0x07 | nx, 0x07}, leaf: 0x9000, acc: sup(x86.Fetch), wp: true},
		{name: "amd64-1g-write", mode: x86.ModeAMD64NX, va: 0xffff_8000_4000_0042, flags: []uint64{0x03, 0x63}, leaf: 0x45_4000_0000 | ps, acc: sup(x86.Write), wp: true, ad: true},
		{name: "amd64-pdpte-ro-user-write", mode: x86.ModeAMD64NX, va: 0x7fff_ffff_f000, flags: []uint64{0x07, 0x05, 0x07, 0x07 | nx}, leaf: 0x7000, acc: user(x86.Write), wp: false},
		{name: "amd64-pml4-ps-reserved", mode: x86.ModeAMD64, va: 0x0000_0080_0000_0000, flags: []uint64{0x87, 0x07, 0x07, 0x07}, leaf: 0x7000, acc: sup(x86.Read)},
		{name: "amd64-xd-without-nxe", mode: x86.ModeAMD64, va: 0x1000, flags: []uint64{0x07, 0x07, 0x07, 0x07 | nx}, leaf: 0x7000, acc: user(x86.Fetch)},
		{name: "amd64-non-canonical", mode: x86.ModeAMD64, va: 0x1000, flags: []uint64{0x07, 0x07, 0x07, 0x07}, leaf: 0x7000, acc: sup(x86.Read), vaArg: 0x0000_8000_0000_1000},
		{name: "la57-4k-write-wp0", mode: x86.ModeLA57NX, va: 0xff7f_ffff_ffff_fabc, flags: []uint64{0x07, 0x07, 0x05, 0x07, 0x25}, leaf: 0xff_ffff_f000, acc: sup(x86.Write), wp: false, ad: true},
		{name: "real-identity", mode: x86.ModeReal, va: 0x1_000b_8000, acc: user(x86.Write)},
		{name: "32bit-smep-fetch", mode: x86.Mode32Bit, va: 0x0804_8123, flags: []uint64{0x27, 0x05}, leaf: 0x0030_0000, acc: sup(x86.Fetch), prot: x86.Protect{SMEP: true}},
		{name: "amd64-smap-read", mode: x86.ModeAMD64NX, va: 0x7fff_ffff_f000, flags: []uint64{0x07, 0x07, 0x07, 0x07}, leaf: 0x7000, acc: sup(x86.Read), wp: true, prot: x86.Protect{SMAP: true}},
		{name: "amd64-key-write-disabled", mode: x86.ModeAMD64NX, va: 0x40_0000, flags: []uint64{0x07, 0x07, 0x07, 0x07}, leaf: 0x7000 | 3<<x86.KeyShift, acc: user(x86.Write), wp: true, prot: x86.Protect{PKE: true, PKRU: 2 << 6}},
		{name: "amd64-key-and-read-only", mode: x86.ModeAMD64NX, va: 0x40_0000, flags: []uint64{0x07, 0x07, 0x07, 0x05}, leaf: 0x7000 | 3<<x86.KeyShift, acc: user(x86.Write), wp: true, prot: x86.Protect{PKE: true, PKRU: 3 << 6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := renderGolden(t, c)
			path := filepath.Join("testdata", "walks", c.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("walk dump differs from %s:\n--- got ---\n%s--- want ---\n%s", path, got, want)
			}
		})
	}
}

func renderGolden(t *testing.T, c goldenWalk) string {
	f, err := x86.NewFormat(c.mode, c.cr4, 40)
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(c.mode)
	if b.g.size == 0 { // no paging: no tables
		b.g.size = 8
	}
	if c.flags != nil {
		b.mapVA(c.va, c.flags, c.leaf)
	}
	va := c.va
	if c.vaArg != 0 {
		va = c.vaArg
	}
	var w x86.Walk
	root := b.root(c.wp)
	root.Protect = c.prot
	f.Walk(b.mem, root, va, c.acc, &w)
	out := fmt.Sprintf("# %v cr4=%#x cr3=%#x %v user=%v wp=%v\n", c.mode, c.cr4, b.cr3, c.acc.Kind, c.acc.User, c.wp)
	if c.prot != (x86.Protect{}) {
		out += fmt.Sprintf("# %+v\n", c.prot)
	}
	out += w.Dump()
	if c.ad {
		w.SetAccessedDirty(b.mem, c.acc.Kind == x86.Write)
		out += fmt.Sprintf("# after SetAccessedDirty (%d writes)\n", len(b.mem.sets))
		out += w.Dump()
	}
	return out
}
