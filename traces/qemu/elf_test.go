package qemu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func openBytes(b []byte) (*Core, error) { return OpenCore(bytes.NewReader(b), int64(len(b))) }

func TestOpenCoreSynthetic(t *testing.T) {
	c, err := openBytes(longModeGuest().bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c.Class != 64 || c.Machine != emAMD64 || len(c.CPUs) != 1 || len(c.Segments) != 1 {
		t.Fatalf("class %d machine %d cpus %d segments %d", c.Class, c.Machine, len(c.CPUs), len(c.Segments))
	}
	s := c.Segments[0]
	if s.GPA != 0 || s.MemSize != 4<<20 || s.FileSize != 64<<10 {
		t.Errorf("segment %+v", s)
	}
	r, err := c.Regs(0)
	if err != nil {
		t.Fatal(err)
	}
	want := Regs{CR0: 0x80050033, CR3: 0x1000, CR4: 0x6b0, EFER: eferLME | eferLMA, CPL: 3, RIP: 0x400000, RSP: 0x401ff8}
	if r != want {
		t.Errorf("regs %+v\nwant %+v", r, want)
	}
	if _, err := c.Regs(1); err == nil {
		t.Error("vCPU 1 of 1: no error")
	}
	var b [8]byte
	if err := c.ReadPhys(0x6ff8, b[:]); err != nil || binary.LittleEndian.Uint64(b[:]) != 0x1234 {
		t.Errorf("stored bytes: %x %v", b, err)
	}
	b = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := c.ReadPhys(3<<20, b[:]); err != nil || b != [8]byte{} {
		t.Errorf("past FileSize: %x %v, want zeros", b, err)
	}
	if err := c.ReadPhys(4<<20-4, b[:]); !errors.Is(err, ErrNotBacked) {
		t.Errorf("across the end: %v", err)
	}
}

// TestOpenCoreQEMUNoteLayout pins the offsets of QEMUCPUState v1 against
// a note written field by field.
func TestOpenCoreQEMUNoteLayout(t *testing.T) {
	g := longModeGuest()
	st := &g.cpus[0]
	for i := range st.GPR {
		st.GPR[i] = uint64(0x100 + i)
	}
	st.RFLAGS, st.CR[2], st.KernelGSBase = 0x246, 0xdead000, 0xffff888007c00000
	st.Seg[SegIDT] = SegmentReg{Limit: 0xfff, Base: 0xfffffe0000000000}
	c, err := openBytes(g.bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := c.CPUs[0]
	if got.GPR != st.GPR || got.RFLAGS != 0x246 || got.CR[2] != 0xdead000 || got.KernelGSBase != st.KernelGSBase || got.Seg[SegIDT] != st.Seg[SegIDT] {
		t.Errorf("got %+v\nwant %+v", got, *st)
	}
}

// corrupt applies f to a fresh synthetic core.
func corrupt(f func(b []byte) []byte) []byte { return f(longModeGuest().bytes()) }

func TestOpenCoreHostile(t *testing.T) {
	le := binary.LittleEndian
	good := longModeGuest().bytes()
	noteOff := le.Uint64(good[64+8:])
	segPh := 64 + 56 // the PT_LOAD's program header
	for _, tc := range []struct {
		name string
		core []byte
		is   error  // a sentinel the error must match, or nil
		want string // text the message must contain
	}{
		{"empty", nil, ErrNotELF, "no ELF magic"},
		{"text", []byte("pgmtrace 1\nram 0 1M\n"), ErrNotELF, "no ELF magic"},
		{"header cut", good[:40], nil, "truncated ELF header"},
		{"big endian", corrupt(func(b []byte) []byte { b[5] = 2; return b }), ErrNotCore, "little-endian"},
		{"class 3", corrupt(func(b []byte) []byte { b[4] = 3; return b }), ErrNotCore, "class"},
		{"executable", corrupt(func(b []byte) []byte { le.PutUint16(b[16:], 2); return b }), ErrNotCore, "type"},
		{"arm", corrupt(func(b []byte) []byte { le.PutUint16(b[18:], 183); return b }), ErrNotCore, "machine"},
		{"program header size", corrupt(func(b []byte) []byte { le.PutUint16(b[54:], 57); return b }), nil, "program header size"},
		{"absurd count", corrupt(func(b []byte) []byte { le.PutUint16(b[56:], 60000); return b }), nil, "program headers"},
		{"PN_XNUM without sections", corrupt(func(b []byte) []byte { le.PutUint16(b[56:], 0xffff); return b }), nil, "PN_XNUM"},
		{"headers past the end", corrupt(func(b []byte) []byte { le.PutUint64(b[32:], uint64(len(b))-10); return b }), nil, "do not fit"},
		{"truncated core", good[:len(good)-100], nil, "run past the end of the file"},
		{"lying segment size", corrupt(func(b []byte) []byte { le.PutUint64(b[segPh+32:], 1<<40); return b }), nil, "lying size"},
		{"memory below file size", corrupt(func(b []byte) []byte { le.PutUint64(b[segPh+40:], 4096); return b }), nil, "below file size"},
		{"beyond 2^52", corrupt(func(b []byte) []byte { le.PutUint64(b[segPh+24:], 1<<52); return b }), nil, "beyond 2^52"},
		{"unknown note version", longModeGuestWith(func(s *synth) { s.version = 2 }), ErrNoteVersion, "version 2"},
		{"short note", longModeGuestWith(func(s *synth) { s.noteSize = 100 }), nil, "QEMUCPUState says 100 bytes"},
		{"no vCPU note", longModeGuestWith(func(s *synth) { s.cpus = nil }), ErrNoCPUNote, "dump-guest-memory"},
		{"note runs past its segment", corrupt(func(b []byte) []byte { le.PutUint32(b[noteOff+4:], 1<<20); return b }), nil, "runs past its segment"},
		{"no memory", longModeGuestWith(func(s *synth) { s.segs = nil }), nil, "no PT_LOAD"},
		{"overlapping segments", longModeGuestWith(func(s *synth) {
			s.segs = append(s.segs, synthSeg{gpa: 1 << 20, data: make([]byte, 4096)})
		}), nil, "overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := openBytes(tc.core)
			if err == nil {
				t.Fatalf("opened: %d segments, %d vCPUs", len(c.Segments), len(c.CPUs))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not match %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "byte ") {
				t.Errorf("error %q: want \"byte N: ...%s...\"", err, tc.want)
			}
		})
	}
}

func longModeGuestWith(f func(*synth)) []byte {
	s := longModeGuest()
	f(&s)
	return s.bytes()
}

// TestSyntheticFixture: testdata/synthetic.core is what longModeGuest
// makes (go test -update rewrites it), so that the fuzzer's seed and
// other tools have the file.
func TestSyntheticFixture(t *testing.T) {
	want := longModeGuest().bytes()
	if *update {
		if err := os.WriteFile("testdata/synthetic.core", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("testdata/synthetic.core")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/synthetic.core is not what longModeGuest makes: run go test ./traces/qemu -update")
	}
}
