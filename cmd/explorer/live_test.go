package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/traces/x86live"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
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
	if err := x86live.Available(""); errors.Is(err, unicorn.ErrNotFound) {
		t.Skipf("no Unicorn library: run `make unicorn` to get one (%v)", err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"live", "--x86", "mmio", "--check"}, &out, &errb); code != 0 {
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
