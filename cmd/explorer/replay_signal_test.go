//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReplaySIGINT sends the test process a real SIGINT in the middle of
// a replay as `explorer replay` runs it (from inside the replay loop, so
// once the handler is installed): the replay stops cleanly with status
// 130 instead of the process dying.
func TestReplaySIGINT(t *testing.T) {
	const n = 50_000
	path := longTrace(t, "t.pgmt", n)
	sent := false
	o := replayOptions{engine: "shadow", outcomes: "jsonl", out: "-", afterEvent: func(k uint64) {
		if k == 500 && !sent {
			sent = true
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
				t.Error(err)
			}
			// Give the runtime time to deliver it.
			time.Sleep(200 * time.Millisecond)
		}
	}}
	var out, errOut bytes.Buffer
	err := replayInterruptible(path, o, &out, &errOut)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 130 {
		t.Fatalf("replay: %v; want exit status 130", err)
	}
	var done int
	if _, serr := fmt.Sscanf(err.Error(), "interrupted after %d events", &done); serr != nil || done < 500 || done >= n {
		t.Fatalf("message %q", err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != done {
		t.Fatalf("%d outcome lines for %d events", lines, done)
	}
}
