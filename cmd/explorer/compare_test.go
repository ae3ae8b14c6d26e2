package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCompareGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"shadow-nested", []string{"--a", "paging=shadow", "--b", "paging=nested", "--window", "8"}},
		{"pool-csv", []string{"--a", "pool=16,host=pae", "--b", "pool=64,dirty-pt=on", "--format", "csv"}},
		{"ept-json", []string{"--a", "", "--b", "paging=ept", "--costs", "testdata/compare/round.costs", "--format", "json", "--window", "10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "compare/"+tc.name+".golden", runOK(t, append(append([]string{"compare"}, tc.args...), twoProc)...))
		})
	}
}

// TestCompareCosts: with the round figures of round.costs, side a's
// cost is the hand count of TestCompareCostByHand (analysis package):
// 17 exits, 44 walk references, 2 TLB hits.
func TestCompareCosts(t *testing.T) {
	out := runOK(t, "compare", "--b", "paging=nested", "--costs", "testdata/compare/round.costs", "--format", "json", twoProc)
	var r struct {
		Events     uint64
		Mismatched uint64
		A, B       struct{ Metrics map[string]float64 }
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.A.Metrics["cycles total"]; got != 17*1000+44*10+2 {
		t.Errorf("a: %v cycles, want %v", got, 17*1000+44*10+2)
	}
	refs := r.B.Metrics["nested-walk references"]
	if got := r.B.Metrics["cycles total"]; got != 7*1000+2*refs+2 {
		t.Errorf("b: %v cycles, want 7 exits, %v references at 2, 2 TLB hits", got, refs)
	}
	if r.Events != 37 || r.Mismatched != 0 {
		t.Errorf("events %d mismatched %d", r.Events, r.Mismatched)
	}
}

func TestCompareErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"compare", "--a", "paging=tlb", twoProc}, 2, "--a: unknown paging"},
		{[]string{"compare", "--b", "pool=2", twoProc}, 2, "--b: pool \"2\""},
		{[]string{"compare", "--costs", "testdata/nonexistent.costs", twoProc}, 2, "no such file"},
		{[]string{"compare", "--costs", twoProc, twoProc}, 2, "want `name = cycles`"},
		{[]string{"compare", "--format", "xml", twoProc}, 2, "unknown format"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, errOut.String(), tc.code, tc.msg)
		}
	}
}

func TestCompareShowCosts(t *testing.T) {
	out := string(runOK(t, "compare", "--show-costs"))
	for _, want := range []string{"exit = 1200", "emulate = 2000", "walk-ref = 30", "nested-ref = 30", "tlb-hit = 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("--show-costs lacks %q:\n%s", want, out)
		}
	}
}
