package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

// TestRecordSamples: explorer record writes, byte for byte, the sample
// traces committed under traces/samples (whose own test keeps them in
// step with the workloads).
func TestRecordSamples(t *testing.T) {
	for _, tc := range []struct {
		sample string
		args   []string
	}{
		{"boot.txt", []string{"--workload", "boot"}},
		{"modes-tour.txt", []string{"--workload=modes-tour", "--seed=1"}},
		{"multiprocess.txt", []string{"--workload", "multiprocess", "--events", "4000", "--param", "procs=6", "--param", "quantum=24"}},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.sample)
			code, stdout, stderr := explorer(t, append(append([]string{"record"}, tc.args...), "-o", out)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.HasPrefix(stdout, out+": ") || !strings.Contains(stdout, " events of ") {
				t.Errorf("stdout %q", stdout)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("../../traces/samples", tc.sample))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("recording differs from the sample:\n%s", firstDiff(string(got), string(want)))
			}
		})
	}
}

// TestRecordReplayOutcomes: `explorer replay --outcomes=jsonl` of a
// recording prints the outcomes the live run saw.
func TestRecordReplayOutcomes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mp.txt")
	args := []string{"record", "--workload", "multiprocess", "--seed", "5", "--events", "1500", "--param", "mode=pae", "-o", out}
	if code, _, stderr := explorer(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The live run, again.
	w, err := workload.New("multiprocess", 5, map[string]string{"mode": "pae"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	eng, _ := engine.NewShadow(w.Header().Config)
	var live strings.Builder
	if _, err := workload.Run(context.Background(), w, eng, 1500, func(_ engine.Event, o *engine.Outcome) error {
		if o.Reported() {
			live.Write(traces.AppendOutcomeJSON(nil, o))
			live.WriteByte('\n')
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := explorer(t, "replay", "--outcomes=jsonl", out)
	if code != 0 || stderr != "" {
		t.Fatalf("replay: exit %d, stderr %q", code, stderr)
	}
	if stdout != live.String() {
		t.Errorf("replayed outcomes differ from the live run's:\n%s", firstDiff(stdout, live.String()))
	}
}

// TestRecordBinary: a name not ending in .txt gets the binary form, with
// the same header and events as the text recording.
func TestRecordBinary(t *testing.T) {
	dir := t.TempDir()
	txt, bin := filepath.Join(dir, "b.txt"), filepath.Join(dir, "b"+traces.BinaryExt)
	for _, out := range []string{txt, bin} {
		if code, _, stderr := explorer(t, "record", "--workload", "boot", "--seed", "9", "--param", "touches=5", "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr)
		}
	}
	ht, et := testkit.ReadTrace(t, txt)
	hb, eb := testkit.ReadTrace(t, bin)
	if !slices.Equal(et, eb) || len(et) == 0 {
		t.Errorf("binary recording has %d events, text %d, or they differ", len(eb), len(et))
	}
	if hb.Meta["workload"] != "boot" || hb.Meta["seed"] != "9" || hb.Meta["param.touches"] != "5" || len(hb.Meta) != len(ht.Meta) {
		t.Errorf("binary header meta %v, text %v", hb.Meta, ht.Meta)
	}
	if data, _ := os.ReadFile(bin); len(data) == 0 || bytes.HasPrefix(data, []byte("pgmtrace")) {
		t.Errorf("%s is not in the binary form", bin)
	}
}

func TestRecordDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [3][]byte
	for i, seed := range []string{"4", "4", "5"} {
		out := filepath.Join(dir, seed+"-"+itoa(i)+".txt")
		if code, _, stderr := explorer(t, "record", "--workload", "multiprocess", "--seed", seed, "--events", "800", "-o", out); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		files[i], _ = os.ReadFile(out)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two recordings with seed 4 differ")
	}
	if bytes.Equal(files[0], files[2]) {
		t.Error("seeds 4 and 5 give the same recording")
	}
}

// TestRecordCheck: --check runs the invariant checker on every event,
// incrementally by default and fully after each with --check-every 1; a
// --check-every below 1 is a usage error.
func TestRecordCheck(t *testing.T) {
	for _, every := range []string{"10000", "7", "1"} {
		out := filepath.Join(t.TempDir(), "tour.txt")
		code, stdout, stderr := explorer(t, "record", "--workload", "modes-tour", "--check", "--check-every", every, "-o", out)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "events of modes-tour") {
			t.Fatalf("--check-every %s: exit %d, stdout %q, stderr %q", every, code, stdout, stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "tour.txt")
	code, _, stderr := explorer(t, "record", "--workload", "modes-tour", "--check", "--check-every", "0", "-o", out)
	if code != 2 || !strings.Contains(stderr, "--check-every 0") {
		t.Fatalf("--check-every 0: exit %d, stderr %q; want a usage error", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error wrote the trace")
	}
}

// TestRecordUsageErrors: a bad command line exits with 2, says what is
// wrong on stderr, and writes no file.
func TestRecordUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.txt")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no workload", []string{"-o", out}, []string{"--workload is required", "boot", "multiprocess"}},
		{"no output", []string{"--workload", "boot"}, []string{"-o FILE is required"}},
		{"unknown workload", []string{"--workload", "frob", "-o", out}, []string{`unknown workload "frob"`, "modes-tour"}},
		{"unknown parameter", []string{"--workload", "boot", "--param", "procs=2", "-o", out}, []string{`unknown parameter "procs"`, "touches"}},
		{"bad value", []string{"--workload", "multiprocess", "--param", "mode=64bit", "-o", out}, []string{"mode=64bit", "32bit, pae, long, la57"}},
		{"not NAME=VALUE", []string{"--workload", "boot", "--param", "touches", "-o", out}, []string{`"touches" is not NAME=VALUE`}},
		{"parameter twice", []string{"--workload", "boot", "--param", "touches=2", "--param", "touches=3", "-o", out}, []string{"touches given twice"}},
		{"negative events", []string{"--workload", "boot", "--events", "-1", "-o", out}, []string{"--events -1"}},
		{"arguments", []string{"--workload", "boot", "-o", out, "extra"}, []string{"unexpected arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := explorer(t, append([]string{"record"}, tc.args...)...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
	t.Run("unwritable output", func(t *testing.T) {
		code, _, stderr := explorer(t, "record", "--workload", "boot", "-o", filepath.Join(dir, "no", "such", "dir.txt"))
		if code != 1 || !strings.Contains(stderr, "no such file or directory") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestRecordInterrupted: when the context ends (Ctrl-C), the trace so far
// is complete and readable, and the exit status is 130.
func TestRecordInterrupted(t *testing.T) {
	for _, file := range []string{"mp.txt", "mp" + traces.BinaryExt} {
		t.Run(file, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), file)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := recordOptions{workload: "multiprocess", seed: 1, events: 0, params: paramFlag{}, out: out,
				afterEvent: func(n int) {
					if n == 1000 {
						cancel()
					}
				}}
			var stdout, stderr bytes.Buffer
			err := record(ctx, o, &stdout, &stderr)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 130 || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("record: %v; want exit status 130 and a message", err)
			}
			_, evs := testkit.ReadTrace(t, out)
			if len(evs) < 1000 || len(evs) > 1100 || !strings.Contains(err.Error(), "first "+itoa(len(evs))+" events") {
				t.Errorf("%d events in the trace; error %q", len(evs), err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
	t.Run("before the first event", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "b.txt")
		err := record(canceled(), recordOptions{workload: "boot", params: paramFlag{}, out: out}, io.Discard, io.Discard)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 130 {
			t.Fatalf("record: %v; want exit status 130", err)
		}
		if h, evs := testkit.ReadTrace(t, out); len(evs) != 0 || h.Meta["workload"] != "boot" {
			t.Errorf("%d events, meta %v: want a header and no event", len(evs), h.Meta)
		}
	})
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
