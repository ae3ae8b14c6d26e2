package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// twoProc is the hand-written two-process trace the analysis commands
// are checked against (events counted by hand in its comments).
const twoProc = "../../analysis/testdata/twoproc.txt"

// TestReplayWhere: --where prints the outcome lines the filter matches,
// and only those; the indexes were read off the trace by hand.
func TestReplayWhere(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"!ok", "20 21 26 32"},
		{"op==w && !ok", "20"},
		{"err.w", "20"},
		{"as==0x310000 && op==r", "24 26 28"},
		{`label~"back" && gva==0x403000`, "32 36"},
		{"cpl==3", "28"},
		{"i in 20..27", "20 21 24 25 26"},
		{"gpa in 0x600000..0x601000", "24 25 28"},
		{"path==dirty-trap && as==0x300000", "18"},
		{"op==cr3", ""}, // control-register writes have no outcome line
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"replay", "--where", tc.expr, twoProc}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				var o struct{ I json.Number }
				if err := json.Unmarshal([]byte(line), &o); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				got = append(got, o.I.String())
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got events %q, want %q", g, tc.want)
			}
		})
	}
}

func TestReplayWhereError(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"replay", "--where", "path==dirt", twoProc}, &out, &errOut)
	want := "--where: filter column 7: unknown path \"dirt\""
	if code != 2 || !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "\n        ^") {
		t.Errorf("exit %d, stderr %q; want 2 and %q with a caret under column 7", code, errOut.String(), want)
	}
}
