package qemu

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func importBytes(t *testing.T, core []byte, o ImportOptions) *Snapshot {
	t.Helper()
	c, err := openBytes(core)
	if err != nil {
		t.Fatal(err)
	}
	if o.Source == "" {
		o.Source = "synthetic.core"
	}
	s, err := Import(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// replay applies a snapshot's events to eng and returns the outcomes of
// its accesses by address.
func replay(t *testing.T, eng engine.Engine, events []engine.Event) map[uint64]engine.Outcome {
	t.Helper()
	out := map[uint64]engine.Outcome{}
	for i, e := range events {
		o, err := eng.Apply(e)
		if err != nil {
			t.Fatalf("event %d (%s %#x): %v", i, e.Op(), e.Addr, err)
		}
		if e.Kind.Access() {
			out[e.Addr] = o
		}
	}
	return out
}

func TestImportSyntheticGolden(t *testing.T) {
	s := importBytes(t, longModeGuest().bytes(), ImportOptions{})
	var b bytes.Buffer
	w := traces.NewTextWriter(&b)
	if err := w.WriteHeader(s.Header); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Events {
		if err := w.WriteEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	golden := filepath.Join("testdata", "synthetic.txt")
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("the import differs from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
}

// TestImportSyntheticReplay: what the trace rebuilds is the guest's
// address space, with the rights of its tables, on every engine.
func TestImportSyntheticReplay(t *testing.T) {
	s := importBytes(t, longModeGuest().bytes(), ImportOptions{})
	if s.Regs.EFER&eferNXE == 0 || s.Header.Meta["mode"] != "AMD64+NX" {
		t.Errorf("EFER %#x, mode %s: NXE should be inferred from bit 63", s.Regs.EFER, s.Header.Meta["mode"])
	}
	if s.Stats.TablePages != 6 || s.Stats.Leaves != 3 || len(s.Regions) != 3 {
		t.Errorf("stats %+v, %d regions; want 6 table pages, 3 leaves, 3 regions", s.Stats, len(s.Regions))
	}
	for _, cfg := range engineConfigs(s.Header.Config) {
		eng, err := cfg.new(cfg.Config)
		if err != nil {
			t.Fatal(err)
		}
		out := replay(t, eng, s.Events)
		if regs := eng.Regs(); regs.Mode() != x86.ModeAMD64NX {
			t.Errorf("%s: mode %v", cfg.name, regs.Mode())
		}
		for _, c := range []struct {
			va    uint64
			gpa   uint64
			value uint64
		}{
			{0x400000, 0x5000, 0},             // x: the code page
			{0x401ff8, 0x6ff8, 0x1234},        // r8 at RSP: the stored value
			{0x401000, 0x6000, 0},             // user region sample
			{0xffff888000000000, 0x200000, 0}, // kernel 2 MiB page, read at CPL 0
		} {
			o, ok := out[c.va]
			if !ok || !o.OK || uint64(o.GPA) != c.gpa || (c.value != 0 && o.Value != c.value) {
				t.Errorf("%s: %#x: %+v (present %v), want gpa %#x value %#x", cfg.name, c.va, o, ok, c.gpa, c.value)
			}
		}
	}
}

type engineConfig struct {
	engine.Config
	name string
	new  func(engine.Config) (engine.Engine, error)
}

// engineConfigs: the reference CPU, the shadow engine under two host
// modes with a small pool, and nested paging.
func engineConfigs(base engine.Config) []engineConfig {
	ref := func(c engine.Config) (engine.Engine, error) { return engine.NewReference(c) }
	sh := func(c engine.Config) (engine.Engine, error) { return engine.NewShadow(c) }
	with := func(h engine.HostMode, p engine.Paging, pool int) engine.Config {
		c := base
		c.Host, c.Paging, c.PoolPages = h, p, pool
		return c
	}
	return []engineConfig{
		{base, "reference", ref},
		{with(engine.HostAMD64NX, engine.PagingShadow, 32), "shadow amd64-nx pool 32", sh},
		{with(engine.HostPAENX, engine.PagingShadow, 32), "shadow pae-nx pool 32", sh},
		{with(engine.HostAMD64NX, engine.PagingNested, 64), "nested", sh},
	}
}

func TestImportOptions(t *testing.T) {
	core := longModeGuest().bytes()
	t.Run("nxe off", func(t *testing.T) {
		s := importBytes(t, core, ImportOptions{Options: Options{NXE: "off"}})
		eng, _ := engine.NewReference(s.Header.Config)
		out := replay(t, eng, s.Events)
		// Bit 63 is reserved without NXE: the NX pages fault with RSVD.
		if o := out[0x401000]; o.OK || o.Fault.Code&x86.PFRsvd == 0 {
			t.Errorf("NX page with NXE off: %+v, want a reserved-bit fault", o)
		}
		if s.Header.Meta["efer-from"] != "LME from the mode, NXE given (--nxe off)" {
			t.Errorf("meta %q", s.Header.Meta["efer-from"])
		}
	})
	t.Run("bad nxe", func(t *testing.T) {
		c, _ := openBytes(core)
		if _, err := Import(c, ImportOptions{Options: Options{NXE: "maybe"}}); err == nil || !strings.Contains(err.Error(), "auto, on or off") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("all leaves and addresses", func(t *testing.T) {
		s := importBytes(t, core, ImportOptions{Options: Options{AllLeaves: true, Addresses: []uint64{0x400123, 0x7000000}}})
		eng, _ := engine.NewReference(s.Header.Config)
		out := replay(t, eng, s.Events)
		if o := out[0x400120]; !o.OK || o.GPA != 0x5120 {
			t.Errorf("listed address: %+v", o)
		}
		if o, ok := out[0x7000000]; !ok || o.OK {
			t.Errorf("unmapped listed address: %+v, want a fault", o)
		}
		if s.Stats.Samples != 3+2+2 {
			t.Errorf("%d reads, want 7", s.Stats.Samples)
		}
	})
	t.Run("paging off", func(t *testing.T) {
		core := longModeGuestWith(func(s *synth) { s.cpus[0].CR[0] = 0x11 })
		c, _ := openBytes(core)
		if _, err := Import(c, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "paging off") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a CR4 bit the engine refuses", func(t *testing.T) {
		core := longModeGuestWith(func(s *synth) { s.cpus[0].CR[4] |= 1 << 31 })
		c, _ := openBytes(core)
		var gp *x86.GPError
		if _, err := Import(c, ImportOptions{}); !errors.As(err, &gp) || !strings.Contains(err.Error(), "engine refuses") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("CR3 outside memory", func(t *testing.T) {
		core := longModeGuestWith(func(s *synth) { s.cpus[0].CR[3] = 0x40000000 })
		c, _ := openBytes(core)
		if _, err := Import(c, ImportOptions{}); !errors.Is(err, ErrNotBacked) {
			t.Errorf("err %v", err)
		}
	})
}

// TestOpenAsTrace: a command that opens a trace opens a core.
func TestOpenAsTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guest.core")
	os.WriteFile(path, longModeGuest().bytes(), 0o644)
	f, err := traces.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Form != traces.FormImported || f.Header().Meta["snapshot"] != "guest.core, vCPU 0" {
		t.Errorf("form %v, meta %v", f.Form, f.Header().Meta)
	}
	n := 0
	for {
		_, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if want := len(importBytes(t, longModeGuest().bytes(), ImportOptions{}).Events); n != want {
		t.Errorf("%d events, want %d", n, want)
	}
	// A stream cannot be imported: the reader says so.
	pr, pw := io.Pipe()
	go func() { pw.Write(longModeGuest().bytes()); pw.Close() }()
	if _, _, err := traces.NewReader(pr, "stdin"); !errors.Is(err, traces.ErrNeedsFile) {
		t.Errorf("from a pipe: %v", err)
	}
	// A damaged core is an error naming the file.
	bad := filepath.Join(t.TempDir(), "bad.core")
	os.WriteFile(bad, longModeGuest().bytes()[:300], 0o644)
	if _, err := traces.Open(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": byte ") {
		t.Errorf("damaged: %v", err)
	}
}

// TestImportPAE32: an ELF32 core of a legacy PAE guest imports with its
// 32-byte PDPT, NXE inferred, and the engines translate through it.
func TestImportPAE32(t *testing.T) {
	s := importBytes(t, paeGuest().bytes(), ImportOptions{})
	if s.Header.Meta["mode"] != "PAE+NX" || s.Stats.Leaves != 2 {
		t.Fatalf("mode %s, %d leaves", s.Header.Meta["mode"], s.Stats.Leaves)
	}
	for _, cfg := range engineConfigs(s.Header.Config) {
		eng, err := cfg.new(cfg.Config)
		if err != nil {
			t.Fatal(err)
		}
		out := replay(t, eng, s.Events)
		if o := out[0x400000]; !o.OK || o.GPA != 0x5000 {
			t.Errorf("%s: user page %+v", cfg.name, o)
		}
		if o := out[0xc0000000]; !o.OK || o.GPA != 0x200000 {
			t.Errorf("%s: kernel 2 MiB page %+v", cfg.name, o)
		}
	}
}
