package analysis

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// FuzzParseCosts: a cost file is user input: it parses or fails with a
// line number, never panics, and what parses is within range.
func FuzzParseCosts(f *testing.F) {
	for _, s := range []string{"exit = 1200\n", "# c\nwalk-ref=3.5\ntlb-hit = 0", "exit", "=", "emulate = 1e9\n", "nested-ref = NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseCosts(strings.NewReader(s), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		for i, c := range m {
			if !(c >= 0 && c <= 1e9) {
				t.Fatalf("%q: cost %d = %v out of range", s, i, c)
			}
		}
	})
}

// FuzzApplySpec: a spec never panics, and what it accepts normalises.
func FuzzApplySpec(f *testing.F) {
	for _, s := range []string{"paging=nested", "pool=16,host=pae", "dirty-pt=on,,", "=", "pool=99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ApplySpec(engine.Config{}, s)
		if err != nil {
			return
		}
		if _, err := cfg.Normalized(); err != nil {
			t.Fatalf("%q accepted but does not normalise: %v", s, err)
		}
	})
}
