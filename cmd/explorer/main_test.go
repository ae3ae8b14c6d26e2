package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explorer runs the command as main does, with buffers for its output.
func explorer(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const (
	sampleTrace  = "../../traces/samples/modes.txt"
	sampleGolden = "../../engine/testdata/ref/modes.jsonl.golden"
)

func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			code, out, errOut := explorer(t, arg)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, want := range []string{"Usage: explorer <command>", "Commands:", "replay", "explorer help <command>"} {
				if !strings.Contains(out, want) {
					t.Errorf("help does not contain %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("no arguments", func(t *testing.T) {
		code, out, errOut := explorer(t)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage: explorer <command>") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the help on stderr", code, out, errOut)
		}
	})
}

func TestHelpReplay(t *testing.T) {
	for _, args := range [][]string{{"help", "replay"}, {"replay", "--help"}, {"replay", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := explorer(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, want := range []string{"Usage: explorer replay [flags] FILE", "-engine", "-outcomes", "jsonl", "-stats", "-o"} {
				if !strings.Contains(out, want) {
					t.Errorf("help does not contain %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("help for no such command", func(t *testing.T) {
		code, out, errOut := explorer(t, "help", "frobnicate")
		if code != 2 || out != "" || !strings.Contains(errOut, `no command "frobnicate"`) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}

// TestUsageErrors: what is wrong with the command line exits with 2 and
// says so on stderr, with nothing on stdout.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "explorer help"}},
		{"replay without a file", []string{"replay"}, []string{"want exactly one trace FILE, got 0 arguments", "explorer help replay"}},
		{"replay with two files", []string{"replay", sampleTrace, sampleTrace}, []string{"got 2 arguments"}},
		{"unknown flag", []string{"replay", "--frob", sampleTrace}, []string{"-frob", "explorer help replay"}},
		{"unknown outcomes", []string{"replay", "--outcomes=xml", sampleTrace}, []string{`unknown --outcomes "xml"`}},
		{"unknown engine", []string{"replay", "--engine=qemu", sampleTrace}, []string{`unknown engine "qemu"`}},
		{"unknown host", []string{"replay", "--host=sparc", sampleTrace}, []string{`unknown host paging mode "sparc"`}},
		{"unknown paging", []string{"replay", "--paging=magic", sampleTrace}, []string{`unknown paging "magic"`}},
		{"pool too small", []string{"replay", "--pool=3", sampleTrace}, []string{"--pool 3 outside 16..16383"}},
		{"check on the reference", []string{"replay", "--engine=ref", "--check", sampleTrace}, []string{"--check needs the shadow engine"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explorer(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
		})
	}
}

// TestReplaySample: the sample replayed through the reference CPU prints
// exactly the engine's golden outcomes, on stdout, and nothing else.
func TestReplaySample(t *testing.T) {
	want, err := os.ReadFile(sampleGolden)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", sampleTrace)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if out != string(want) {
		t.Errorf("outcomes differ from %s:\n%s", sampleGolden, firstDiff(out, string(want)))
	}
}

// TestReplayGoldens: every hand-checked reference trace of the engine
// replays through the command to its golden outcomes.
func TestReplayGoldens(t *testing.T) {
	traces, err := filepath.Glob("../../engine/testdata/ref/*.txt")
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces (%v)", err)
	}
	for _, tr := range traces {
		t.Run(filepath.Base(tr), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(tr, ".txt") + ".jsonl.golden")
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut := explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", tr)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != string(want) {
				t.Errorf("outcomes differ:\n%s", firstDiff(out, string(want)))
			}
		})
	}
}

// TestReplayDefaultEngine: the default engine's guest-visible fields
// (everything but path) match the reference CPU's on the sample.
func TestReplayDefaultEngine(t *testing.T) {
	want, err := os.ReadFile(sampleGolden)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := explorer(t, "replay", "--outcomes=jsonl", sampleTrace)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	got, exp := guestVisible(t, out), guestVisible(t, string(want))
	if got != exp {
		t.Errorf("guest-visible outcomes differ from the reference:\n%s", firstDiff(got, exp))
	}
}

// guestVisible drops the path of every JSONL outcome: how an engine got
// there is its own business.
func guestVisible(t *testing.T, jsonl string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		delete(m, "path")
		s, _ := json.Marshal(m) // sorted keys
		b.Write(s)
		b.WriteByte('\n')
	}
	return b.String()
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got " + gl + "\nwant " + wl
		}
	}
	return "(same lines)"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestReplayStats(t *testing.T) {
	for _, eng := range []string{"ref", "shadow"} {
		t.Run(eng, func(t *testing.T) {
			code, out, errOut := explorer(t, "replay", "--engine="+eng, "--stats", sampleTrace)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q: statistics go to stderr, outcomes were not asked for", out)
			}
			for _, want := range []string{"replayed 75 events", "final guest mode: AMD64+NX", "events by kind:", "outcomes by path:"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stats do not contain %q:\n%s", want, errOut)
				}
			}
		})
	}
}

func TestReplayOutputFile(t *testing.T) {
	want, err := os.ReadFile(sampleGolden)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.jsonl")
	code, out, errOut := explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", "-o", path, sampleTrace)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("-o file differs:\n%s", firstDiff(string(got), string(want)))
	}
	code, _, errOut = explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", "-o", filepath.Join(t.TempDir(), "no", "such", "dir", "x"), sampleTrace)
	if code != 1 || !strings.Contains(errOut, "no such file or directory") {
		t.Errorf("unwritable -o: exit %d, stderr %q", code, errOut)
	}
}

// TestReplayTraceErrors: a bad trace stops the replay with exit status 1
// and one line on stderr that names FILE:LINE and says what is wrong;
// outcomes of the events before it are still printed.
func TestReplayTraceErrors(t *testing.T) {
	tests := []struct {
		file     string
		want     []string
		outcomes int // JSONL lines printed before the error
	}{
		{"bad-line.txt", []string{"testdata/bad-line.txt:6: r3 0x7c00: access size 3 is not 1, 2, 4 or 8"}, 2},
		{"unknown-line.txt", []string{"testdata/unknown-line.txt:4:", "frobnicate"}, 1},
		{"absurd-ram.txt", []string{"testdata/absurd-ram.txt:3: ram 0 1048576G:", "beyond MAXPHYADDR"}, 0},
		{"too-much-ram.txt", []string{"testdata/too-much-ram.txt:3: ram 64G 8G high:", "above the limit of 64G"}, 0},
		{"overlap.txt", []string{"testdata/overlap.txt:3: rom 1M 64K bios:", `overlaps RAM range "low"`}, 0},
		{"gp-cr0.txt", []string{"testdata/gp-cr0.txt:6: cr0 0x80000000: #GP: PG set without PE"}, 1},
		{"outside.txt", []string{"testdata/outside.txt:4:", "outside every range"}, 0},
	}
	for _, tc := range tests {
		for _, eng := range []string{"ref", "shadow"} {
			t.Run(tc.file+" "+eng, func(t *testing.T) {
				path := filepath.Join("testdata", tc.file)
				code, out, errOut := explorer(t, "replay", "--engine="+eng, "--outcomes=jsonl", path)
				if code != 1 {
					t.Errorf("exit %d, want 1", code)
				}
				if !strings.HasPrefix(errOut, "explorer replay: ") || strings.Count(errOut, "\n") != 1 {
					t.Errorf("stderr %q: want one line starting with the command", errOut)
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr %q does not contain %q", errOut, w)
					}
				}
				if n := strings.Count(out, "\n"); n != tc.outcomes {
					t.Errorf("%d outcomes printed before the error, want %d:\n%s", n, tc.outcomes, out)
				}
			})
		}
	}
}

func TestReplayFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "binary.trace")
	if err := os.WriteFile(binary, []byte{0x93, 0x01, 0x02, 0x00, 0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "missing.txt"), "no such file or directory"},
		{"directory", dir, "directory"},
		{"empty file", empty, "not a text trace"},
		{"not a trace", binary, "not a text trace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explorer(t, "replay", "--outcomes=jsonl", tc.path)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.want)
			}
		})
	}
}

// TestReplayOverrides: every host mode, paging kind and a tiny pool give
// the sample the same guest-visible outcomes, with the invariant checker
// on after every event.
func TestReplayOverrides(t *testing.T) {
	_, want, _ := explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", sampleTrace)
	strip := func(s string) string {
		var b strings.Builder
		for _, line := range strings.Split(s, "\n") {
			if i := strings.Index(line, `,"path"`); i >= 0 {
				line = line[:i] + "}"
			}
			b.WriteString(line + "\n")
		}
		return b.String()
	}
	for _, args := range [][]string{
		{"--host=32bit"}, {"--host=pae"}, {"--host=pae-nx"}, {"--host=amd64"},
		{"--paging=nested"}, {"--paging=ept"}, {"--pool=16"}, {"--host=32bit", "--pool=16"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			all := append([]string{"replay", "--check", "--outcomes=jsonl"}, args...)
			code, got, errOut := explorer(t, append(all, sampleTrace)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strip(got) != strip(want) {
				t.Errorf("outcomes differ from the reference CPU's:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestReplayShadowStats: the shadow engine's --stats ends with its mode
// and the /PGM statistics tree.
func TestReplayShadowStats(t *testing.T) {
	code, _, errOut := explorer(t, "replay", "--stats", "--host=pae", sampleTrace)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"shadow paging mode: AMD64 (host PAE", "statistics (non-zero):", "Trap0e", "SyncPT"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stats do not contain %q:\n%s", want, errOut)
		}
	}
}
