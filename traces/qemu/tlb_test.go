package qemu

import (
	"os"
	"strings"
	"testing"
)

// The fixture is a trimmed `info tlb` of the linux-guest (QEMU 7.2, a
// Debian 6.1 kernel): user pages, the direct map in 4 KiB and 2 MiB
// pages, vmalloc, espfix, the kernel image, modules, an uncached page.
func TestParseInfoTLBFixture(t *testing.T) {
	f, err := os.Open("testdata/tlb-4level.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := ParseInfoTLB(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 32 {
		t.Fatalf("%d lines, want 32", len(lines))
	}
	first := lines[0]
	if first.VA != 0x400000 || first.PA != 0xfc09000 || !first.NX || !first.A || !first.User || first.Write || first.Big || first.G {
		t.Errorf("first line: %+v", first)
	}
	var big, pcd, kernel int
	for _, l := range lines {
		if l.Big {
			big++
		}
		if l.PCD && l.PWT {
			pcd++
		}
		if int64(l.VA) < 0 {
			kernel++
			if l.User {
				t.Errorf("%#x: a kernel page with U", l.VA)
			}
		}
	}
	if big != 5 || pcd != 2 || kernel != 17 {
		t.Errorf("big %d, uncached %d, kernel %d; want 5, 2, 17", big, pcd, kernel)
	}
}

func TestParseInfoTLBErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no colon", "0000000000400000 000000000fc09000 X---A--U-\n", "line 1"},
		{"short flags", "0000000000400000: 000000000fc09000 X---A--U\n", "line 1"},
		{"bad flag", "0000000000400000: 000000000fc09000 Y---A--U-\n", "flag 0"},
		{"flag in wrong place", "0000000000400000: 000000000fc09000 -X--A--U-\n", "flag 1"},
		{"bad address", "zz: 000000000fc09000 X---A--U-\n", "virtual address"},
		{"second line", "0000000000400000: 000000000fc09000 X---A--U-\nhello\n", "line 2"},
		{"overlong line", strings.Repeat("0", 5000) + "\n", "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInfoTLB(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	if l, err := ParseInfoTLB(strings.NewReader("PG disabled\n")); err != nil || len(l) != 0 {
		t.Errorf("paging off: %v %v", l, err)
	}
}

func TestParseGva2gpa(t *testing.T) {
	f, err := os.Open("testdata/gva2gpa-4level.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseGva2gpa(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 || !got[0].Mapped || got[0].VA != 0x4003d8 || got[0].PA != 0xfc093d8 || got[11].Mapped || got[11].VA != 0x12be9000 {
		t.Fatalf("got %+v", got)
	}
	for _, bad := range []string{"0x1 gpa:\n", "0x1 Mapped\n", "zz Unmapped\n", "0x1 gpa: zz\n"} {
		if _, err := ParseGva2gpa(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestParseInfoMem(t *testing.T) {
	f, err := os.Open("testdata/mem-4level.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseInfoMem(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 {
		t.Fatalf("%d ranges, want 16", len(got))
	}
	if g := got[0]; g != (MemRange{0x400000, 0x4a0000, true, false}) {
		t.Errorf("first %+v", g)
	}
	if g := got[11]; g != (MemRange{0xffff888000000000, 0xffff888000098000, false, true}) {
		t.Errorf("direct map %+v", g)
	}
	for _, bad := range []string{"0-1000 1000 uxw\n", "0 1000 ur-\n", "0-zz 1000 ur-\n"} {
		if _, err := ParseInfoMem(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
