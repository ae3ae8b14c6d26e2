//go:build !js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu/vm"
)

// TestAttachCommandLinux runs `explorer attach` on the linux-guest
// booted with a gdbstub (skipped without `make linux-guest`): three
// periodic stops, then one at a breakpoint on the kernel's context
// switch; the traces open, and QEMU says the guest runs on after each.
func TestAttachCommandLinux(t *testing.T) {
	root := filepath.Join("..", "..", ".cache", "linux")
	kernels, _ := filepath.Glob(filepath.Join(root, "kernel", "boot", "vmlinuz-*"))
	initrd := filepath.Join(root, "initramfs.cpio")
	if _, err := os.Stat(initrd); err != nil || len(kernels) != 1 {
		t.Skipf("no linux guest in %s: run `make linux-guest`", root)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("no qemu-system-x86_64: run `make linux-guest`")
	}
	port, err := vm.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.Start(context.Background(), vm.Options{Kernel: kernels[0], Initrd: initrd,
		CPU: "max,-smep,-smap,-pku,la57=off", Dir: t.TempDir(), GDBPort: port, Append: "nokaslr quiet"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.WaitConsole(context.Background(), "PGM-GUEST-READY", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(m.Console(), "switch_to: ")
	sw := strings.Fields(rest + " ")[0]
	running := func() {
		t.Helper()
		raw, err := m.QMP.Execute("query-status", nil)
		var st struct{ Status string }
		if err != nil || json.Unmarshal(raw, &st) != nil || st.Status != "running" {
			t.Errorf("after attach: status %s (%v), want the guest running", raw, err)
		}
	}
	dir := t.TempDir()
	gdb := fmt.Sprintf("127.0.0.1:%d", port)
	for _, tc := range []struct {
		args  []string
		stops int
		why   string
	}{
		{[]string{"--period", "100ms", "--stops", "3"}, 3, "interrupted"},
		{[]string{"--period", "5s", "--stops", "1", "--break", sw}, 1, "breakpoint"},
	} {
		out := filepath.Join(dir, fmt.Sprintf("live%d.pgmt", tc.stops))
		code, _, stderr := explorer(t, append([]string{"attach", "--gdb", gdb, "-o", out}, tc.args...)...)
		if code != 0 || !strings.Contains(stderr, "the guest runs on") {
			t.Fatalf("attach %v: exit %d\n%s", tc.args, code, stderr)
		}
		running()
		_, events := testkit.ReadTrace(t, out)
		var stops []string
		for _, e := range events {
			if strings.HasPrefix(e.Text, "stop ") {
				stops = append(stops, e.Text)
			}
		}
		if len(stops) != tc.stops || !strings.Contains(stops[len(stops)-1], "("+tc.why+")") {
			t.Errorf("attach %v: stops %q", tc.args, stops)
		}
		if code, _, stderr := explorer(t, "replay", out); code != 0 {
			t.Errorf("replay %s: %s", out, stderr)
		}
	}
}
