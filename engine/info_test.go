package engine_test

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

func TestInfoCommands(t *testing.T) {
	trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", "pae"), "cr3 0x100000\n", "phys-handler write 0x200000 8K fb\ncr3 0x100000\n", 1)
	e, _ := run(t, trace+"r4 0x0\nw4 0x1000 1\nr4 0x400000\n")
	for _, tc := range []struct {
		cmd  []string
		want []string
	}{
		{[]string{"mode"}, []string{"Guest paging mode:  32-bit, changed 1 times", "Shadow paging mode: PAE", "Host paging mode:   PAE"}},
		{[]string{"mode", "host"}, []string{"Host paging mode"}},
		{[]string{"ram"}, []string{"0x0000000000ffffff RAM", "16M"}},
		{[]string{"map"}, []string{"No hypervisor mappings"}},
		{[]string{"handlers"}, []string{`write "fb"`, "write-monitored"}},
		{[]string{"pool"}, []string{"pages in use", "PAE_PT_FOR_32BIT_PT"}},
		{[]string{"stats", "/PGM/RZ/SyncPT"}, []string{"SyncPT", "4K"}},
		{[]string{"dump", "guest"}, []string{"---[ guest: 32-bit", "0x0000000000400000-0x0000000000800000       4M RW USR"}},
		{[]string{"dump", "shadow"}, []string{"---[ shadow: PAE", "TRK"}},
		{[]string{"assertcr3"}, []string{"No problems found."}},
		{[]string{"checkintegrity"}, []string{"No problems found."}},
		{[]string{"sync"}, []string{"Forced a full resync"}},
		{[]string{"syncalways"}, []string{"Enabled"}},
	} {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			var b strings.Builder
			if err := e.Info(&b, tc.cmd[0], tc.cmd[1:]...); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	// With syncalways on, every event resyncs and the guest sees nothing.
	if _, err := e.Apply(engine.Event{Kind: engine.EvRead, Size: 4, Addr: 0x1000}); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if err := e.Info(&strings.Builder{}, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown info command") {
		t.Errorf("unknown command: %v", err)
	}
}
