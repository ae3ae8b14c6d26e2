package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInfo(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "modes.pgmt")
	if code, _, errOut := explorer(t, "convert", sampleTrace, bin); code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	common := []string{
		"host:       amd64-nx (AMD64+NX)", "paging:     shadow", "pool:       1024 pages", "maxphyaddr: 40",
		"ranges:     3",
		"  ram  0x0          960K     low memory",
		"  rom  0xf0000      64K      bios",
		"  ram  0x100000     15M      main memory",
		"events:     75\n",
		"duration:   75 events (traces carry no time",
		"events by kind:",
		"  r                          16   21.3%  (r4: 15, r8: 1)",
		"  label                      10   13.3%\n",
		"labels:     10 (event index: text)",
		"  0: real mode: linear = physical\n",
		"  6: protected mode without paging\n",
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{sampleTrace, append([]string{"file:       " + sampleTrace, "form:       text, version 1, 2194 bytes (29.25 bytes/event)"}, common...)},
		{bin, append([]string{"form:       binary, version 2 (checksummed), "}, common...)},
		{"../../traces/testdata/v1/nested.pgmt", []string{"form:       binary, version 1 (unchecked: written before checksums"}},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			code, out, errOut := explorer(t, "info", tc.path)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("info does not contain %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("labels", func(t *testing.T) {
		_, out, _ := explorer(t, "info", "--labels=2", sampleTrace)
		if !strings.Contains(out, "  6: protected mode without paging\n  ... and 8 more (-labels=-1 lists them all)") || strings.Contains(out, "10: 32-bit") {
			t.Errorf("--labels=2:\n%s", out)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(dir, "cut.pgmt")
		if err := os.WriteFile(cut, data[:len(data)-5], 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := explorer(t, "info", cut)
		if code != 1 || !strings.Contains(errOut, "truncated trace") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if !strings.Contains(out, "before the error below") || !strings.Contains(out, "events by kind:") {
			t.Errorf("no description up to the damage:\n%s", out)
		}
	})

	t.Run("usage", func(t *testing.T) {
		if code, _, errOut := explorer(t, "info"); code != 2 || !strings.Contains(errOut, "want a trace FILE") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if code, _, errOut := explorer(t, "info", "testdata/unknown-line.txt"); code != 1 || !strings.Contains(errOut, "testdata/unknown-line.txt:4:") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestInfoAt(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"info", "--at", "the guest maps the missing page and retries", sampleTrace, "dump", "guest"},
			0, []string{"at event 33", "---[ guest: 32-bit", "0x0000000000400000-0x0000000000800000       4M RW"}},
		{[]string{"info", "--at", "40", sampleTrace, "mode"}, 0, []string{"at event 40", "Guest paging mode:  Protected"}},
		{[]string{"info", "--host=32bit", sampleTrace, "pool"}, 0, []string{"pages in use"}},
		{[]string{"info", sampleTrace, "checkintegrity"}, 0, []string{"No problems found."}},
		{[]string{"info", "--at", "9999", sampleTrace, "mode"}, 1, []string{"the trace ends after 75 events"}},
		{[]string{"info", sampleTrace, "frob"}, 2, []string{`unknown info command "frob"`}},
		{[]string{"info", "--at", "3", sampleTrace}, 2, []string{"--at needs a COMMAND"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, out, errOut := explorer(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}
