package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestLinuxProtectionKeys: on the 5-level guest (CR4.PKE), the process
// the vCPU stopped in gave a region protection key 1 (pkey_alloc and
// pkey_mprotect; it printed the address and its PKRU). The kernel wrote
// the key into bits 62:59 of the region's PTEs, and the engines enforce
// it: with the PKRU the process had, a user read works; with key 1's
// access-disable bit set, it faults with PK in the error code.
func TestLinuxProtectionKeys(t *testing.T) {
	ls := loadLinux(t, "5level")
	if ls.snap.Regs.CR4&x86.CR4PKE == 0 {
		t.Fatalf("CR4 %#x: no PKE", ls.snap.Regs.CR4)
	}
	console, err := os.ReadFile(filepath.Join(linuxCache(t, "5level"), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	var keyed uint64
	var pkru uint32
	for _, line := range strings.Split(string(console), "\n") {
		var va uint64
		var key int
		var p uint32
		i := strings.Index(line, "keyed ")
		if i < 0 {
			continue
		}
		if _, err := fmt.Sscanf(line[i:], "keyed %v key %d pkru %v", &va, &key, &p); err != nil || key != 1 {
			continue
		}
		if _, ok := ls.snap.Tables.Translate(va); ok {
			keyed, pkru = va, p // the process whose tables CR3 holds
		}
	}
	if keyed == 0 {
		t.Fatalf("no keyed region of the current process in the console:\n%s", console)
	}
	found := false
	ls.snap.Tables.Leaves(func(l Leaf) bool {
		if l.VA == keyed {
			found = true
			if l.Entry.Key() != 1 || !l.User {
				t.Errorf("%#x: key %d user %v, want key 1 in a user page", keyed, l.Entry.Key(), l.User)
			}
		}
		return true
	})
	if !found {
		t.Fatalf("%#x is not a leaf", keyed)
	}
	for _, tc := range []struct {
		pkru uint32
		ok   bool
	}{{pkru, true}, {pkru | 1<<2, false}} {
		for _, cfg := range engineConfigs(ls.snap.Header.Config) {
			eng, err := cfg.new(cfg.Config)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ls.snap.Events {
				if _, err := eng.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			eng.Apply(engine.Event{Kind: engine.EvPKRU, Value: uint64(tc.pkru)})
			eng.Apply(engine.Event{Kind: engine.EvCPL, Value: 3})
			o, err := eng.Apply(engine.Event{Kind: engine.EvRead, Size: 8, Addr: keyed})
			if err != nil {
				t.Fatal(err)
			}
			if o.OK != tc.ok || (!tc.ok && o.Fault.Code&x86.PFPK == 0) {
				t.Errorf("%s, PKRU %#x: user read of %#x: %+v", cfg.name, tc.pkru, keyed, o)
			}
		}
	}
}
