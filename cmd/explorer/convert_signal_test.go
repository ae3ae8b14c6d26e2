//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildExplorer builds this command into a temporary directory, for
// tests that need a real process to signal.
func buildExplorer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program")
	}
	bin := filepath.Join(t.TempDir(), "explorer")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bigTextTrace writes a text trace of n real-mode accesses, quickly.
func bigTextTrace(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "pgmtrace 1\nram 0x0 640K\n")
	for i := range n {
		fmt.Fprintf(w, "w4 %#x %#x\n", (i*0x38)%0x9f000, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConvertSIGINT interrupts a real `explorer convert` of a large
// trace with SIGINT (and SIGTERM) while it writes: it stops with exit
// status 130, OUT is as it was (absent, or the user's old file) and no
// temporary file is left.
func TestConvertSIGINT(t *testing.T) {
	bin := buildExplorer(t)
	in := filepath.Join(t.TempDir(), "big.txt")
	bigTextTrace(t, in, 4_000_000)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		old  bool // OUT exists before
	}{
		{"SIGINT new", syscall.SIGINT, false},
		{"SIGINT existing", syscall.SIGINT, true},
		{"SIGTERM existing", syscall.SIGTERM, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.pgmt")
			if tc.old {
				if err := os.WriteFile(out, []byte(oldContent), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := listDir(t, dir)
			var stderr bytes.Buffer
			cmd := exec.Command(bin, "convert", in, out)
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once writing has begun: a new file shows in dir.
			deadline := time.Now().Add(20 * time.Second)
			for len(listDir(t, dir)) == len(before) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") {
				t.Fatalf("convert: %v, stderr %q; want exit status 130 after the signal", err, stderr.String())
			}
			if tc.old {
				if got := string(mustRead(t, out)); got != oldContent {
					t.Errorf("OUT holds %d bytes; want its old content", len(got))
				}
			} else if _, err := os.Lstat(out); err == nil {
				t.Errorf("a cut-off OUT was left")
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("directory %v, was %v", after, before)
			}
		})
	}
}
