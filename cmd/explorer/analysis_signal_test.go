//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAnalysisSIGINT: a real SIGINT in the middle of the analysis
// commands stops them between two events with status 130; analyze and
// compare print what they counted so far, export leaves no file.
func TestAnalysisSIGINT(t *testing.T) {
	path := longTrace(t, "t.pgmt", 50_000)
	dst := filepath.Join(t.TempDir(), "out.json")
	for _, tc := range []struct {
		args []string
		out  string // in standard output
		msg  string
	}{
		{[]string{"analyze", "--format", "json", path}, `"events": `, "the report covers those"},
		{[]string{"compare", "--b", "paging=nested", path}, "guest-visible outcomes agree", "the comparison covers those"},
		{[]string{"diff", "--from", "10", path}, "", "no diff"},
		{[]string{"export", "-o", dst, "--perfetto", path}, "", "nothing written"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			sent := false
			testHookNext = func(n uint64) {
				if n == 1000 && !sent {
					sent = true
					if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
						t.Error(err)
					}
					time.Sleep(200 * time.Millisecond) // let the runtime deliver it
				}
			}
			defer func() { testHookNext = nil }()
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != 130 || !strings.Contains(errOut.String(), "interrupted after") || !strings.Contains(errOut.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want 130 and %q", code, errOut.String(), tc.msg)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("standard output lacks %q:\n%s", tc.out, out.String())
			}
		})
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted export left %s (%v)", dst, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 0 {
		t.Errorf("an interrupted export left %v", entries)
	}
}
