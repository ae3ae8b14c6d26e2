package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestHostModeNumbers pins the host paging modes: numbers (stored in
// traces and saved states), trace names, display names and the paging
// mode each folds into.
func TestHostModeNumbers(t *testing.T) {
	tests := []struct {
		host   engine.HostMode
		num    uint8
		trace  string
		info   string
		paging x86.Mode
	}{
		{engine.HostInvalid, 0, "", "invalid", x86.ModeInvalid},
		{engine.Host32Bit, 1, "32bit", "32-bit", x86.Mode32Bit},
		{engine.Host32BitGlobal, 2, "32bit-global", "32-bit+G", x86.Mode32Bit},
		{engine.HostPAE, 3, "pae", "PAE", x86.ModePAE},
		{engine.HostPAEGlobal, 4, "pae-global", "PAE+G", x86.ModePAE},
		{engine.HostPAENX, 5, "pae-nx", "PAE+NX", x86.ModePAENX},
		{engine.HostPAEGlobalNX, 6, "pae-global-nx", "PAE+G+NX", x86.ModePAENX},
		{engine.HostAMD64, 7, "amd64", "AMD64", x86.ModeAMD64},
		{engine.HostAMD64Global, 8, "amd64-global", "AMD64+G", x86.ModeAMD64},
		{engine.HostAMD64NX, 9, "amd64-nx", "AMD64+NX", x86.ModeAMD64NX},
		{engine.HostAMD64GlobNX, 10, "amd64-global-nx", "AMD64+G+NX", x86.ModeAMD64NX},
	}
	for _, tc := range tests {
		t.Run(tc.info, func(t *testing.T) {
			if uint8(tc.host) != tc.num {
				t.Errorf("number = %d, want %d", uint8(tc.host), tc.num)
			}
			if got := tc.host.TraceName(); got != tc.trace {
				t.Errorf("TraceName() = %q, want %q", got, tc.trace)
			}
			if got := tc.host.String(); got != tc.info {
				t.Errorf("String() = %q, want %q", got, tc.info)
			}
			if got := tc.host.Paging(); got != tc.paging {
				t.Errorf("Paging() = %v, want %v", got, tc.paging)
			}
			if tc.host == engine.HostInvalid {
				return
			}
			got, err := engine.ParseHostMode(tc.trace)
			if err != nil || got != tc.host {
				t.Errorf("ParseHostMode(%q) = %v, %v; want %v", tc.trace, got, err, tc.host)
			}
		})
	}
	for _, n := range []uint8{11, 12, 255} {
		h := engine.HostMode(n)
		if h.String() != "unknown" || h.TraceName() != "" || h.Paging() != x86.ModeInvalid {
			t.Errorf("HostMode(%d) = %q %q %v, want unknown, no trace name, invalid paging",
				n, h.String(), h.TraceName(), h.Paging())
		}
	}
	if engine.DefaultHost != engine.HostAMD64NX {
		t.Errorf("DefaultHost = %v, want AMD64+NX (TRACE-TEXT: default amd64-nx)", engine.DefaultHost)
	}
}

func TestHostModeNames(t *testing.T) {
	want := []string{"32bit", "32bit-global", "pae", "pae-global", "pae-nx", "pae-global-nx",
		"amd64", "amd64-global", "amd64-nx", "amd64-global-nx"}
	if got := engine.HostModeNames(); !slices.Equal(got, want) {
		t.Errorf("HostModeNames() = %q, want %q", got, want)
	}
}

func TestParseHostModeErrors(t *testing.T) {
	for _, s := range []string{"", "invalid", "x86", "AMD64", "amd64 ", "32-bit", "PAE", "pae_nx", "nested"} {
		t.Run(s, func(t *testing.T) {
			h, err := engine.ParseHostMode(s)
			if err == nil {
				t.Fatalf("ParseHostMode(%q) = %v, want an error", s, h)
			}
			if h != engine.HostInvalid {
				t.Errorf("ParseHostMode(%q) returned %v with its error", s, h)
			}
			if !strings.Contains(err.Error(), "unknown host paging mode") {
				t.Errorf("error %q does not say what is wrong", err)
			}
			// The message lists what is accepted.
			for _, name := range engine.HostModeNames() {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not list %q", err, name)
				}
			}
		})
	}
}

func TestPagingNumbers(t *testing.T) {
	tests := []struct {
		p    engine.Paging
		num  uint8
		name string
	}{
		{engine.PagingShadow, 0, "shadow"},
		{engine.PagingNested, 1, "nested"},
		{engine.PagingEPT, 2, "ept"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if uint8(tc.p) != tc.num {
				t.Errorf("number = %d, want %d", uint8(tc.p), tc.num)
			}
			if got := tc.p.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			got, err := engine.ParsePaging(tc.name)
			if err != nil || got != tc.p {
				t.Errorf("ParsePaging(%q) = %v, %v", tc.name, got, err)
			}
		})
	}
	if got := engine.Paging(3).String(); got != "Paging(3)" {
		t.Errorf("Paging(3).String() = %q", got)
	}
	for _, s := range []string{"", "Shadow", "NESTED", "npt", "Paging(3)", "hw"} {
		if p, err := engine.ParsePaging(s); err == nil {
			t.Errorf("ParsePaging(%q) = %v, want an error", s, p)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := engine.DefaultConfig()
	if c.Host != engine.HostAMD64NX || c.Paging != engine.PagingShadow ||
		c.PoolPages != engine.DefaultPoolPages || c.MaxPhys != x86.DefaultMaxPhys || len(c.Ranges) != 0 {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	n, err := c.Normalized()
	if err != nil {
		t.Fatalf("DefaultConfig().Normalized(): %v", err)
	}
	if n.Host != c.Host || n.Paging != c.Paging || n.PoolPages != c.PoolPages || n.MaxPhys != c.MaxPhys {
		t.Errorf("Normalized changed the defaults: %+v", n)
	}
}

func TestConfigNormalized(t *testing.T) {
	ram := []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 1 << 20, Name: "ram"}}
	tests := []struct {
		name    string
		in      engine.Config
		want    engine.Config // when wantErr is ""
		wantErr string
	}{
		{"zero value gets defaults", engine.Config{},
			engine.Config{Host: engine.HostAMD64NX, Paging: engine.PagingShadow, PoolPages: 1024, MaxPhys: 40}, ""},
		{"explicit values kept", engine.Config{Ranges: ram, Host: engine.Host32Bit, Paging: engine.PagingEPT, PoolPages: 64, MaxPhys: 36},
			engine.Config{Ranges: ram, Host: engine.Host32Bit, Paging: engine.PagingEPT, PoolPages: 64, MaxPhys: 36}, ""},
		{"smallest pool", engine.Config{PoolPages: engine.MinPoolPages},
			engine.Config{Host: engine.DefaultHost, PoolPages: 16, MaxPhys: 40}, ""},
		{"largest pool", engine.Config{PoolPages: engine.MaxPoolPages},
			engine.Config{Host: engine.DefaultHost, PoolPages: 0x3fff, MaxPhys: 40}, ""},
		{"smallest maxphyaddr", engine.Config{MaxPhys: 32},
			engine.Config{Host: engine.DefaultHost, PoolPages: 1024, MaxPhys: 32}, ""},
		{"largest maxphyaddr", engine.Config{MaxPhys: 52},
			engine.Config{Host: engine.DefaultHost, PoolPages: 1024, MaxPhys: 52}, ""},
		{"nested", engine.Config{Paging: engine.PagingNested},
			engine.Config{Host: engine.DefaultHost, Paging: engine.PagingNested, PoolPages: 1024, MaxPhys: 40}, ""},
		{"unknown paging", engine.Config{Paging: 3}, engine.Config{}, "paging 3 unknown"},
		{"unknown host", engine.Config{Host: 11}, engine.Config{}, "host paging mode 11 unknown"},
		{"pool too small", engine.Config{PoolPages: 15}, engine.Config{}, "pool of 15 pages outside 16..16383"},
		{"pool negative", engine.Config{PoolPages: -1}, engine.Config{}, "pool of -1 pages outside 16..16383"},
		{"pool too big", engine.Config{PoolPages: 0x4000}, engine.Config{}, "pool of 16384 pages outside 16..16383"},
		{"maxphyaddr too small", engine.Config{MaxPhys: 31}, engine.Config{}, "maxphyaddr 31 outside 32..52"},
		{"maxphyaddr too big", engine.Config{MaxPhys: 53}, engine.Config{}, "maxphyaddr 53 outside 32..52"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Normalized()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Normalized() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalized(): %v", err)
			}
			if got.Host != tc.want.Host || got.Paging != tc.want.Paging || got.PoolPages != tc.want.PoolPages ||
				got.MaxPhys != tc.want.MaxPhys || !slices.Equal(got.Ranges, tc.want.Ranges) {
				t.Errorf("Normalized() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNewReferenceConfigErrors: a configuration error is returned by the
// constructor, never a panic, and the reference starts in real mode.
func TestNewReferenceConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  engine.Config
	}{
		{"bad pool", engine.Config{PoolPages: 1}},
		{"bad maxphyaddr", engine.Config{MaxPhys: 64}},
		{"overlapping ranges", engine.Config{Ranges: []phys.RangeSpec{
			{Type: phys.TypeRAM, Start: 0, Size: 2 << 20, Name: "a"},
			{Type: phys.TypeROM, Start: 1 << 20, Size: 1 << 20, Name: "b"},
		}}},
		{"unaligned range", engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0x800, Size: 0x1000}}}},
		{"range beyond maxphyaddr", engine.Config{MaxPhys: 32, Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0xfffff000, Size: 0x2000}}}},
		{"absurd size", engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 1 << 50}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := engine.NewReference(tc.cfg)
			if err == nil {
				t.Fatalf("NewReference accepted %+v", tc.cfg)
			}
			if r != nil {
				t.Errorf("NewReference returned an engine with its error %v", err)
			}
		})
	}
	r, err := engine.NewReference(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Format().Mode; m != x86.ModeReal {
		t.Errorf("power-on mode = %v, want Real", m)
	}
	if regs := r.Regs(); regs.CR0 != x86.CR0ET || regs.CR3 != 0 || regs.CR4 != 0 || regs.EFER != 0 || regs.CPL != 0 {
		t.Errorf("power-on registers = %+v", regs)
	}
	if r.Events() != 0 {
		t.Errorf("Events() = %d at power-on", r.Events())
	}
	if c := r.Config(); c.Host != engine.DefaultHost || c.PoolPages != engine.DefaultPoolPages || c.MaxPhys != x86.DefaultMaxPhys {
		t.Errorf("Config() = %+v, want the normalized defaults", c)
	}
}
