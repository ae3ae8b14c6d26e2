package main

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

// TestWorkloads: every workload is listed with its summary and every
// parameter with its default and meaning.
func TestWorkloads(t *testing.T) {
	code, out, errOut := explorer(t, "workloads")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "explorer record --workload NAME -o FILE") {
		t.Errorf("no usage line:\n%s", out)
	}
	flat := strings.Join(strings.Fields(out), " ") // undo the wrapping
	for _, name := range workload.Names() {
		info, _ := workload.Describe(name)
		if !strings.Contains(out, "\n"+name+"\n") || !strings.Contains(flat, info.Summary) {
			t.Errorf("%s or its summary missing:\n%s", name, out)
		}
		for _, p := range info.Params {
			if !strings.Contains(flat, p.Name+"="+p.Default+" "+p.Help) {
				t.Errorf("%s: parameter %s=%s (%s) missing:\n%s", name, p.Name, p.Default, p.Help, out)
			}
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 80 {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
}

func TestWorkloadsNamed(t *testing.T) {
	code, out, _ := explorer(t, "workloads", "modes-tour")
	if code != 0 || !strings.Contains(out, "modes-tour\n") || strings.Contains(out, "multiprocess") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	code, out, errOut := explorer(t, "workloads", "frob")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown workload "frob"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestHelpLists: the new commands appear in the help.
func TestHelpLists(t *testing.T) {
	_, out, _ := explorer(t, "help")
	for _, c := range []string{"record", "workloads"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
	_, out, _ = explorer(t, "help", "record")
	for _, f := range []string{"-workload NAME", "-seed N", "-events N", "-param NAME=VALUE", "-o FILE", "-check"} {
		if !strings.Contains(out, f) {
			t.Errorf("help record does not show %s:\n%s", f, out)
		}
	}
}
