package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorTexts: each error says what is wrong in words that fit it,
// and only a usage error (exit status 2) points at `explorer help`.
func TestErrorTexts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badAsm := write("bad.asm", "bits 32\norg 0x1000\n  frobnicate eax\n")
	virt := write("virt.txt", "pgmtrace 1\nram 0x0 16M\nvirt-unhandler 0x400000\n")
	bidi := write("bidi.txt", "pgmtrace 1\nram 0x0 16M\nlabel safe \u202eexe.txt\n")
	missing := filepath.Join(dir, "missing.txt")
	tests := []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		// Usage errors: the arguments are wrong.
		{"unknown flag", []string{"replay", "--frob", sampleTrace}, 2, []string{"run 'explorer help replay' for usage"}, nil},
		{"no file", []string{"replay"}, 2, []string{"run 'explorer help replay' for usage"}, nil},
		{"unknown program", []string{"live", "--x86", "no-such-guest"}, 2, []string{"no x86 guest program", "for usage"}, nil},
		{"unknown view", []string{"render", "--view", "frob", "-o", "-", sampleTrace}, 2, []string{"for usage"}, nil},
		// Everything else: no pointer at the usage.
		{"missing file", []string{"replay", missing}, 1, []string{"no such file"}, []string{"for usage"}},
		{"missing info", []string{"info", missing}, 1, []string{"no such file"}, []string{"for usage"}},
		{"same file", []string{"convert", sampleTrace, sampleTrace}, 1, []string{"are the same file"}, []string{"for usage"}},
		{"asm that does not assemble", []string{"live", "--x86", badAsm}, 1, []string{"nasm", "bad.asm:3"}, []string{"for usage"}},
		{"virtual handler", []string{"replay", virt}, 1, []string{"virtual handler", "no handler starts there"}, []string{"physical", "for usage"}},
		{"info --at no label", []string{"info", "--at", "no such label", sampleTrace, "mode"}, 1, []string{`--at "no such label": no such label`}, []string{"ends after", "for usage"}},
		{"info dump what", []string{"info", sampleTrace, "dump", "frob"}, 1, []string{"want guest, shadow or intermediate"}, []string{"for usage"}},
		{"bidi label", []string{"replay", bidi}, 1, []string{"bidi.txt:3", `\u202e`, "bidirectional"}, []string{"\u202e", "for usage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := explorer(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(errOut, w) {
					t.Errorf("stderr %q contains %q", errOut, w)
				}
			}
		})
	}
}
