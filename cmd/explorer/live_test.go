package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live"
)

func TestLiveUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"live"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--x86 PROGRAM is required") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"live", "--x86", "nosuch"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "multiproc") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestLiveAndRecordX86(t *testing.T) {
	testkit.NeedUnicorn(t)
	var out, errb bytes.Buffer
	if code := run([]string{"live", "--x86", "mmio", "--check", "--check-every", "5", "--max-time", "10m"}, &out, &errb); code != 0 {
		t.Fatalf("live: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "same:") {
		t.Errorf("live output: %s", out.String())
	}
	file := filepath.Join(t.TempDir(), "mmio.txt")
	out.Reset()
	if code := run([]string{"record", "--x86", "mmio", "-o", file}, &out, &errb); code != 0 {
		t.Fatalf("record: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"replay", "--check", file}, &out, &errb); code != 0 {
		t.Fatalf("replaying the recording: exit %d: %s", code, errb.String())
	}
}

// TestLiveRunaway: a guest that never halts is stopped by default within
// seconds, with a message that says why and how to change the limits;
// --max-instructions sets the limit.
func TestLiveRunaway(t *testing.T) {
	testkit.NeedUnicorn(t)
	loop := filepath.Join(t.TempDir(), "loop.bin")
	if err := os.WriteFile(loop, []byte{0xeb, 0xfe}, 0o644); err != nil { // jmp $
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
		max  time.Duration
	}{
		{[]string{"live", "--x86", loop, "--max-instructions", "3000"}, "it ran 3000 instructions, the limit", 3 * time.Second},
		{[]string{"live", "--x86", loop}, "the guest did not halt", x86live.DefaultMaxDuration + 3*time.Second},
		{[]string{"record", "--x86", loop, "--max-time", "200ms", "-o", "-"}, "in 200ms, the time limit", 3 * time.Second},
	} {
		start := time.Now()
		code, _, errOut := explorer(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--max-instructions and --max-time raise the limits") || strings.Contains(errOut, "for usage") {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
		if el := time.Since(start); el > tc.max {
			t.Errorf("%v: stopped after %v", tc.args, el)
		}
	}
}
