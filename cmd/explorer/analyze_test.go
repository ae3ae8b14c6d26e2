package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, got)
	}
}

func runOK(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("explorer %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.Bytes()
}

// TestAnalyzeGolden pins each key kind and format on the two-process
// trace.
func TestAnalyzeGolden(t *testing.T) {
	for _, tc := range []struct{ name, by, format string }{
		{"va", "va", "table"}, {"page-csv", "page", "csv"}, {"as", "as", "table"}, {"gpa-json", "gpa", "json"},
		{"guest-table", "guest-table", "table"}, {"pool-page", "pool-page", "csv"}, {"path", "path", "table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "analyze/"+tc.name+".golden", runOK(t, "analyze", "--by", tc.by, "--format", tc.format, twoProc))
		})
	}
}

type jsonRow struct {
	Key      string
	Events   uint64
	Accesses uint64
	Faults   uint64
	Errors   map[string]uint64
	Paths    map[string]uint64
	Allocs   uint64
}

type jsonReport struct {
	Events, Matched uint64
	Keys            int
	Rows            []jsonRow
	Other           *jsonRow
	Total           jsonRow
	Spaces          []jsonRow `json:"address_spaces"`
}

func analyzeJSON(t *testing.T, args ...string) jsonReport {
	t.Helper()
	var r jsonReport
	out := runOK(t, append([]string{"analyze", "--format", "json"}, args...)...)
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestAnalyzeByHand checks counts read off twoproc.txt by hand.
func TestAnalyzeByHand(t *testing.T) {
	r := analyzeJSON(t, "--by", "va", twoProc)
	// 0x400000: A reads twice and writes, B reads, writes and reads at
	// CPL 3, A writes again. 0x403000: A's two faulting reads, the
	// invlpg and the read after the mapping. 0x402000: a read and a
	// write to the read-only page (0x3). 0x401000: B's not-present read.
	want := []jsonRow{
		{Key: "0x400000", Events: 7, Accesses: 7},
		{Key: "0x403000", Events: 4, Accesses: 3, Faults: 2, Errors: map[string]uint64{"0x0": 2}},
		{Key: "0x402000", Events: 2, Accesses: 2, Faults: 1, Errors: map[string]uint64{"0x3": 1}},
		{Key: "0x401000", Events: 1, Accesses: 1, Faults: 1, Errors: map[string]uint64{"0x0": 1}},
	}
	if r.Events != 37 || r.Matched != 37 || len(r.Rows) != len(want) {
		t.Fatalf("events %d matched %d rows %d, want 37, 37, %d", r.Events, r.Matched, len(r.Rows), len(want))
	}
	for i, w := range want {
		g := r.Rows[i]
		if g.Key != w.Key || g.Events != w.Events || g.Accesses != w.Accesses || g.Faults != w.Faults || !sameCounts(g.Errors, w.Errors) {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
	// Faults in total: three not present, one write to a read-only page.
	if !sameCounts(r.Total.Errors, map[string]uint64{"0x0": 3, "0x3": 1}) || r.Total.Faults != 4 {
		t.Errorf("total faults %d %v", r.Total.Faults, r.Total.Errors)
	}
	// Address spaces: A ran 15 events (10 accesses including its pw8,
	// 3 faults), B 8 (4 accesses, 1 fault), the loader 14 before CR3.
	sp := map[string]jsonRow{}
	for _, s := range r.Spaces {
		sp[s.Key] = s
	}
	if a, b := sp["0x300000"], sp["0x310000"]; a.Events != 15 || a.Accesses != 10 || a.Faults != 3 ||
		b.Events != 8 || b.Accesses != 4 || b.Faults != 1 || sp["0x0"].Events != 14 {
		t.Errorf("address spaces: %+v", r.Spaces)
	}
	// The two processes' 0x400000 are two keys once split by space.
	r = analyzeJSON(t, "--by", "va", "--where", "gva==0x400000 && as==0x310000", twoProc)
	if r.Matched != 3 || len(r.Rows) != 1 || r.Rows[0].Events != 3 {
		t.Errorf("B's 0x400000: matched %d rows %+v, want 3 events", r.Matched, r.Rows)
	}
	// Eight pool pages: four levels of tables for each process, each a
	// guest table of its own.
	r = analyzeJSON(t, "--by", "guest-table", twoProc)
	if r.Total.Allocs != 8 || r.Keys != 8 {
		t.Errorf("guest tables: %d allocations over %d keys, want 8 over 8", r.Total.Allocs, r.Keys)
	}
	for _, row := range r.Rows {
		if row.Allocs != 1 {
			t.Errorf("guest table %s shadowed %d times, want once", row.Key, row.Allocs)
		}
	}
}

// TestAnalyzeByLabel: the four phases of twoproc.txt, counted by hand:
// the loader's 15 events (its label, ten pw8, efer, cr4, cr3, cr0), then
// A's 7 with two faults, B's 8 with one, A's last 7 with one.
func TestAnalyzeByLabel(t *testing.T) {
	r := analyzeJSON(t, "--by", "label", twoProc)
	var got []string
	for _, row := range r.Rows {
		got = append(got, fmt.Sprintf("%s:%d/%d", row.Key, row.Events, row.Faults))
	}
	want := "loader builds the tables:15/0 process B:8/1 process A:7/2 back to A:7/1"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	// Past the cap, later labels' events go to other.
	r = analyzeJSON(t, "--by", "label", "--max-keys", "2", twoProc)
	if r.Keys != 2 || r.Other == nil || r.Other.Events != 15 {
		t.Errorf("cap 2: %d keys, other %+v; want B's and the last phase's 15 events in other", r.Keys, r.Other)
	}
}

// TestAnalyzeCap: past --max-keys, events go to "other" and the table
// says so.
func TestAnalyzeCap(t *testing.T) {
	// The first two addresses seen are 0x400000 and 0x402000; the
	// 4 events of 0x403000 and the one of 0x401000 come after the cap.
	r := analyzeJSON(t, "--by", "va", "--max-keys", "2", twoProc)
	if r.Keys != 2 || r.Other == nil || r.Other.Events != 5 || r.Other.Faults != 3 {
		t.Fatalf("keys %d other %+v; want 2 keys and the later keys' 5 events (3 faults) in other", r.Keys, r.Other)
	}
	out := string(runOK(t, "analyze", "--by", "va", "--max-keys", "2", twoProc))
	if !strings.Contains(out, "cap of 2 keys reached: 5 more events") {
		t.Errorf("table does not report the cap:\n%s", out)
	}
}

func TestAnalyzeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "--by", "colour", twoProc},
		{"analyze", "--format", "xml", twoProc},
		{"analyze", "--sort", "size", twoProc},
		{"analyze", "--where", "ok &&", twoProc},
		{"analyze"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}

func sameCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFlagsAfterFile: the analysis commands take their flags after the
// FILE too, as the issue and the README write them, and say so when a
// flag is unknown wherever it is.
func TestFlagsAfterFile(t *testing.T) {
	before := runOK(t, "analyze", "--by", "va", "--top", "2", twoProc)
	after := runOK(t, "analyze", twoProc, "--by", "va", "--top", "2")
	mixed := runOK(t, "analyze", "--by", "va", twoProc, "--top", "2")
	if !bytes.Equal(before, after) || !bytes.Equal(before, mixed) {
		t.Errorf("flags after FILE give another report:\n%s\n%s\n%s", before, after, mixed)
	}
	if out := runOK(t, "diff", twoProc, "--from", "31", "--format", "csv"); !bytes.HasPrefix(out, []byte("section,")) {
		t.Errorf("diff FILE --from --format csv:\n%s", out)
	}
	if out := runOK(t, "compare", twoProc, "--b", "paging=nested", "--format", "json"); !bytes.Contains(out, []byte(`"paging=nested`)) {
		t.Errorf("compare FILE --b:\n%s", out)
	}
	for _, args := range [][]string{{"analyze", twoProc, "--bogus"}, {"diff", twoProc, "extra"}, {"export", "--perfetto", twoProc, "x"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
