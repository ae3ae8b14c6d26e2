package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// canonical is the canonical text of a text trace.
func canonical(t *testing.T, path string) string {
	t.Helper()
	h, evs, err := traces.ReadTextFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := traces.NewTextWriter(&b)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConvertRoundTrip: text -> binary -> text gives the canonical text;
// binary -> text -> binary the same bytes.
func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	bin, text, bin2 := filepath.Join(dir, "a.pgmt"), filepath.Join(dir, "b.txt"), filepath.Join(dir, "c.trace")
	for _, step := range [][2]string{{sampleTrace, bin}, {bin, text}, {text, bin2}} {
		code, out, errOut := explorer(t, "convert", step[0], step[1])
		if code != 0 || errOut != "" {
			t.Fatalf("convert %s %s: exit %d, stderr %q", step[0], step[1], code, errOut)
		}
		if !strings.Contains(out, "75 events") {
			t.Errorf("convert says %q", out)
		}
	}
	if got, want := string(mustRead(t, text)), canonical(t, sampleTrace); got != want {
		t.Errorf("text -> binary -> text:\n%s", firstDiff(got, want))
	}
	if !bytes.Equal(mustRead(t, bin), mustRead(t, bin2)) {
		t.Error("binary -> text -> binary changed the bytes")
	}
	if b := mustRead(t, bin); !bytes.HasPrefix(b, []byte("\xa8pgmtrace\x02")) {
		t.Errorf("%s does not start with the binary magic: %q", bin, b[:12])
	}
}

// TestReplayBinaryGoldens: the engine's reference traces, converted to
// the binary form, replay to the same golden outcomes.
func TestReplayBinaryGoldens(t *testing.T) {
	files, err := filepath.Glob("../../engine/testdata/ref/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no traces (%v)", err)
	}
	dir := t.TempDir()
	for _, tr := range files {
		t.Run(filepath.Base(tr), func(t *testing.T) {
			bin := filepath.Join(dir, strings.TrimSuffix(filepath.Base(tr), ".txt")+".pgmt")
			if code, _, errOut := explorer(t, "convert", tr, bin); code != 0 {
				t.Fatalf("convert: exit %d: %s", code, errOut)
			}
			want := mustRead(t, strings.TrimSuffix(tr, ".txt")+".jsonl.golden")
			code, out, errOut := explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", bin)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != string(want) {
				t.Errorf("outcomes differ:\n%s", firstDiff(out, string(want)))
			}
		})
	}
}

// TestReplayBinaryErrors: an engine error in a binary trace names the
// file and the event index; a damaged binary trace stops the replay after
// the events before the damage.
func TestReplayBinaryErrors(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gp.pgmt")
	if code, _, errOut := explorer(t, "convert", "testdata/gp-cr0.txt", bin); code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	code, out, errOut := explorer(t, "replay", "--outcomes=jsonl", bin)
	if code != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, %d outcomes; want 1 and 1", code, strings.Count(out, "\n"))
	}
	if want := bin + ": event 2: cr0 0x80000000: #GP: PG set without PE"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not contain %q", errOut, want)
	}

	sample := filepath.Join(dir, "modes.pgmt")
	if code, _, errOut := explorer(t, "convert", sampleTrace, sample); code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	data := mustRead(t, sample)
	cut := filepath.Join(dir, "cut.pgmt")
	// Cut in the end marker: every event is there (a cut inside the
	// sample's one block would leave none, as that block cannot be
	// checked).
	if err := os.WriteFile(cut, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = explorer(t, "replay", "--engine=ref", "--outcomes=jsonl", cut)
	if code != 1 || !strings.Contains(errOut, "truncated trace: the file ends at byte") || !strings.Contains(errOut, cut+": event ") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if golden := string(mustRead(t, sampleGolden)); out == "" || !strings.HasPrefix(golden, out) {
		t.Errorf("outcomes before the damage are not a prefix of the golden ones:\n%s", out)
	}

	// One bit flipped in the header (the pool size) or in the events:
	// the replay refuses the damaged part and applies nothing of it.
	pool := bytes.Index(data, []byte("\xa4pool")) + 6
	for _, tc := range []struct {
		name string
		at   int
		want string
	}{
		{"pool", pool + 1, "the header (bytes 0 to"},
		{"event", len(data) - 20, "block 0 (at byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := bytes.Clone(data)
			d[tc.at] ^= 1
			path := filepath.Join(dir, tc.name+".pgmt")
			if err := os.WriteFile(path, d, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := explorer(t, "replay", "--outcomes=jsonl", path)
			if code != 1 || out != "" || !strings.Contains(errOut, "checksum mismatch: "+tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing and the damage named", code, out, errOut)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "modes.pgmt")
	if code, _, errOut := explorer(t, "convert", sampleTrace, bin); code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	data := mustRead(t, bin)
	cut := filepath.Join(dir, "cut.pgmt")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
		out  string // a file that must not exist afterwards
	}{
		{"no arguments", []string{"convert"}, 2, []string{"want IN and OUT, got 0 arguments", "explorer help convert"}, ""},
		{"same file", []string{"convert", bin, bin}, 1, []string{"are the same file"}, ""},
		{"missing input", []string{"convert", filepath.Join(dir, "missing.txt"), filepath.Join(dir, "x.pgmt")}, 1, []string{"no such file"}, filepath.Join(dir, "x.pgmt")},
		{"bad text", []string{"convert", "testdata/bad-line.txt", filepath.Join(dir, "y.pgmt")}, 1, []string{"testdata/bad-line.txt:6: r3 0x7c00: access size 3"}, filepath.Join(dir, "y.pgmt")},
		{"truncated", []string{"convert", cut, filepath.Join(dir, "z.txt")}, 1, []string{cut + ": event ", "truncated trace"}, filepath.Join(dir, "z.txt")},
		{"unwritable", []string{"convert", bin, filepath.Join(dir, "no", "dir", "x.txt")}, 1, []string{"no such file or directory"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explorer(t, tc.args...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
			if tc.out != "" {
				if _, err := os.Stat(tc.out); err == nil {
					t.Errorf("%s left behind", tc.out)
				}
			}
		})
	}

	t.Run("partial", func(t *testing.T) {
		out := filepath.Join(dir, "salvaged.txt")
		code, _, errOut := explorer(t, "convert", "--partial", cut, out)
		if code != 1 || !strings.Contains(errOut, "truncated trace") || !strings.Contains(errOut, "salvaged.txt keeps the") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		got := string(mustRead(t, out))
		if want := canonical(t, sampleTrace); len(got) < 100 || !strings.HasPrefix(want, got) {
			t.Errorf("the salvaged trace is not a prefix of the original:\n%s", got)
		}
	})
}

// TestConvertInterruptedPartial: an interrupted convert leaves OUT as it
// was, unless --partial asks to keep what was converted: then OUT is a
// complete trace of the events before the interruption. Both exit 130.
func TestConvertInterruptedPartial(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	for _, partial := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("out-%v.pgmt", partial))
		err := convert(ctx, sampleTrace, out, partial, io.Discard, io.Discard)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 130 || !strings.Contains(err.Error(), "interrupted after 0 events") {
			t.Fatalf("partial %v: %v; want exit status 130", partial, err)
		}
		_, statErr := os.Stat(out)
		if !partial {
			if statErr == nil {
				t.Errorf("an interrupted convert wrote %s", out)
			}
			continue
		}
		if h, evs := testkit.ReadTrace(t, out); len(evs) != 0 || len(h.Config.Ranges) == 0 {
			t.Errorf("--partial: %d events, header %+v; want a complete trace of none", len(evs), h)
		}
	}
}
