package main

import (
	"strings"
	"testing"
)

// The protocol and the follower are tested against a fake stub and the
// real QEMU in traces/qemu/gdb; here, what the command refuses.
func TestAttachUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"attach", "-o", "x.txt"}, 2, "--gdb ADDR and -o TRACE are required"},
		{[]string{"attach", "--gdb", "127.0.0.1:1"}, 2, "--gdb ADDR and -o TRACE are required"},
		{[]string{"attach", "--gdb", "192.0.2.7:1234", "-o", "x.txt"}, 1, "not a loopback address"},
		{[]string{"attach", "--gdb", "127.0.0.1:1", "-o", "x.txt", "--period", "0s"}, 2, "--period must be positive"},
		{[]string{"attach", "--gdb", "127.0.0.1:1", "-o", "x.txt", "--ram", "3"}, 2, "page-aligned"},
		{[]string{"attach", "--gdb", "127.0.0.1:1", "-o", "x.txt", "--break", "zz"}, 2, "not a hex address"},
	} {
		code, _, stderr := explorer(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
