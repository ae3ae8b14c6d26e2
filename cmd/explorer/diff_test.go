package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type diffJSON struct {
	From, To  uint64
	Registers []struct{ Name, From, To string }
	Controls  []struct {
		I     uint64
		Op    string
		Value uint64
	} `json:"control_writes"`
	Spaces []string `json:"address_spaces"`
	Guest  []struct{ AS, Op, Level, VA, Old, New string }
	Shadow []struct{ Op, Level, VA, Old, New, GPA string }
	Pool   []struct {
		Op    string
		Index int
		New   string
	}
	Statistics []struct {
		Name     string
		From, To uint64
	}
}

func diffOf(t *testing.T, args ...string) diffJSON {
	t.Helper()
	var d diffJSON
	out := runOK(t, append(append([]string{"diff", "--format", "json"}, args...), twoProc)...)
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return d
}

// TestDiffByHand: the changes of twoproc.txt between its labels, read
// off the trace by hand.
func TestDiffByHand(t *testing.T) {
	// From "process A" (event 15) to "back to A" (event 30): A's walks
	// set accessed bits on its PML4, PDPT and PD entries and on the PTEs
	// of 0x400000 (and dirty: it wrote) and 0x402000 (read only); B's
	// likewise for 0x400000. 0x401000 and 0x403000 were never reached.
	d := diffOf(t, "--from", "process A", "--to", "back to A")
	if d.From != 15 || d.To != 30 {
		t.Errorf("moments %d..%d, want 15..30", d.From, d.To)
	}
	want := []string{
		"0x300000 ~ PML4 0x0 0x301007 0x301027",
		"0x300000 ~ PDPT 0x0 0x302007 0x302027",
		"0x300000 ~ PD 0x400000 0x303007 0x303027",
		"0x300000 ~ PT 0x400000 0x500007 0x500067",
		"0x300000 ~ PT 0x402000 0x502005 0x502025",
		"0x310000 ~ PML4 0x0 0x311007 0x311027",
		"0x310000 ~ PDPT 0x0 0x312007 0x312027",
		"0x310000 ~ PD 0x400000 0x313007 0x313027",
		"0x310000 ~ PT 0x400000 0x600007 0x600067",
	}
	var got []string
	for _, g := range d.Guest {
		got = append(got, strings.Join([]string{g.AS, g.Op, g.Level, g.VA, g.Old, g.New}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("guest changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Registers) != 1 || d.Registers[0].Name != "cr3" || d.Registers[0].From != "0x300000" || d.Registers[0].To != "0x310000" {
		t.Errorf("registers %+v, want cr3 0x300000 -> 0x310000", d.Registers)
	}
	if len(d.Controls) != 1 || d.Controls[0].I != 23 || d.Controls[0].Value != 0x310000 {
		t.Errorf("control writes %+v, want the cr3 at 23", d.Controls)
	}
	// Four levels of shadow tables for each process: 8 pool pages.
	if len(d.Pool) != 8 {
		t.Errorf("pool changes %+v, want 8 pages taken", d.Pool)
	}
	for _, p := range d.Pool {
		if p.Op != "+" {
			t.Errorf("pool change %+v, want only additions", p)
		}
	}
	stat := map[string][2]uint64{}
	for _, s := range d.Statistics {
		stat[s.Name] = [2]uint64{s.From, s.To}
	}
	if s := stat["/PGM/Pool/Cache/Misses"]; s != [2]uint64{0, 8} {
		t.Errorf("pool misses %v, want 0 -> 8", s)
	}

	// From event 31 (the cr3 back to A) to the end: A maps 0x403000
	// with a physical write and reads it (accessed bit set).
	d = diffOf(t, "--from", "31")
	if len(d.Guest) != 1 || d.Guest[0].Op != "+" || d.Guest[0].AS != "0x300000" || d.Guest[0].VA != "0x403000" || d.Guest[0].New != "0x503027" {
		t.Errorf("guest changes %+v, want + PT 0x403000 0x503027 in 0x300000", d.Guest)
	}
	var added []string
	for _, s := range d.Shadow {
		if s.Op == "+" {
			added = append(added, s.VA+" "+s.GPA)
		}
	}
	// The shadow PTEs of A's read-only page and the new one appear.
	if strings.Join(added, ",") != "0x402000 0x502000,0x403000 0x503000" {
		t.Errorf("shadow entries added %v", added)
	}
}

func TestDiffOnlySpaces(t *testing.T) {
	d := diffOf(t, "--from", "process A", "--to", "back to A", "--as", "0x310000")
	if len(d.Spaces) != 1 || d.Spaces[0] != "0x310000" || len(d.Guest) != 4 {
		t.Errorf("--as 0x310000: spaces %v, %d guest changes; want B's 4", d.Spaces, len(d.Guest))
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"diff", "--as", "cr3", twoProc}, &out, &errOut); code != 2 {
		t.Errorf("--as cr3: exit %d", code)
	}
}

// TestDiffBudget: the budget is shared by all address spaces; those it
// cut short are named.
func TestDiffBudget(t *testing.T) {
	out := runOK(t, "diff", "--format", "json", "--from", "process A", "--to", "back to A", "--budget", "6", twoProc)
	var d struct {
		Cut []string `json:"cut_short"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	// A has 6 present entries (PML4, PDPT, PD and three PTEs): the
	// budget ends with it, and B is left out.
	if strings.Join(d.Cut, ",") != "0x300000,0x310000" {
		t.Errorf("cut short %v, want both spaces", d.Cut)
	}
	if d := diffOf(t, "--from", "process A", "--to", "back to A", "--budget", "100"); len(d.Guest) != 9 {
		t.Errorf("budget 100: %d guest changes, want 9", len(d.Guest))
	}
}

func TestDiffGolden(t *testing.T) {
	golden(t, "diff/labels.golden", runOK(t, "diff", "--from", "process A", "--to", "back to A", "--limit", "5", twoProc))
	golden(t, "diff/end-csv.golden", runOK(t, "diff", "--from", "31", "--format", "csv", twoProc))
}

func TestDiffErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"diff", "--from", "no such label", twoProc}, 1, "--from no such label: not in the trace"},
		{[]string{"diff", "--from", "20", "--to", "10", twoProc}, 2, "--to 10 is before --from 20"},
		{[]string{"diff", "--from", "process B", "--to", "process A", twoProc}, 1, "--to process A: not in the trace after --from"},
		{[]string{"diff", "--from", "99", twoProc}, 1, "--from 99: not in the trace"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, errOut.String(), tc.code, tc.msg)
		}
	}
	// The end is a moment too.
	d := diffOf(t, "--from", "37")
	if d.From != 37 || d.To != 37 || len(d.Guest) != 0 {
		t.Errorf("an empty diff at the end: %+v", d)
	}
}
