package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const syntheticCore = "../../traces/qemu/testdata/synthetic.core"

// TestImportCore: `import` writes the trace and says what it inferred;
// `replay`, `info` and `convert` open the core itself.
func TestImportCore(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "guest.txt")
	code, stdout, stderr := explorer(t, "import", "--regions", "-o", out, syntheticCore)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"vCPU 0 of 1, AMD64+NX, CR3 0x1000", "NXE inferred", "6 table pages (8 entries), 3 leaves in 3 regions"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "ffff888000000000-ffff888000200000       2M -w-") {
		t.Errorf("regions:\n%s", stdout)
	}
	if got, want := canonical(t, out), string(mustRead(t, "../../traces/qemu/testdata/synthetic.txt")); got != want {
		t.Errorf("the import differs from the package's golden file:\n%s", firstDiff(got, want))
	}
	code, stdout, stderr = explorer(t, "replay", "--outcomes=jsonl", syntheticCore)
	if code != 0 || !strings.Contains(stdout, `"op":"r8","gva":"0x401ff8","ok":true,"gpa":"0x6ff8","value":"0x1234"`) {
		t.Errorf("replay of the core: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = explorer(t, "info", syntheticCore)
	if code != 0 || !strings.Contains(stdout, "imported") {
		t.Errorf("info of the core: exit %d\n%s", code, stdout)
	}
}

func TestImportCoreErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.core")
	os.WriteFile(bad, mustRead(t, syntheticCore)[:200], 0o644)
	out := filepath.Join(dir, "out.txt")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "-o", out, bad}, 1, "bad.core: byte "},
		{[]string{"import", syntheticCore}, 2, "-o TRACE is required"},
		{[]string{"import", "-o", syntheticCore, syntheticCore}, 1, "same file"},
		{[]string{"import", "-o", out, "--cpu", "3", syntheticCore}, 1, "no vCPU 3"},
		{[]string{"import", "-o", out, "--nxe", "yes", syntheticCore}, 1, "auto, on or off"},
		{[]string{"import", "-o", out, "--addresses", bad, syntheticCore}, 1, "is not a hex address"},
	} {
		code, _, stderr := explorer(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import left %s behind", out)
	}
}
