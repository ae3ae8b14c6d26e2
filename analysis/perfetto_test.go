//go:build !js

package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// perfettoOf exports testdata/twoproc.txt and parses the file back.
func perfettoOf(t *testing.T, filter string, every, maxInstants uint64) []map[string]any {
	t.Helper()
	h, evs := testkit.ReadTrace(t, "testdata/twoproc.txt")
	sh, err := engine.NewShadow(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p := NewPerfetto(&buf, "twoproc", sh, every, maxInstants)
	if filter != "" {
		if p.Filter, err = Parse(filter); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range evs {
		o, err := sh.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		p.Add(&o)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		DisplayTimeUnit string           `json:"displayTimeUnit"`
		TraceEvents     []map[string]any `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if doc.DisplayTimeUnit != "ms" {
		t.Errorf("displayTimeUnit %q", doc.DisplayTimeUnit)
	}
	return doc.TraceEvents
}

// TestPerfettoStructure: every record has the fields Perfetto's JSON
// importer needs, with the types it expects, and the events of the
// trace are where the hand count puts them.
func TestPerfettoStructure(t *testing.T) {
	recs := perfettoOf(t, "", 10, 1000)
	var instants, slices, counters []string
	for i, r := range recs {
		for _, f := range []string{"ph", "ts", "pid", "tid", "name", "args"} {
			if _, ok := r[f]; !ok {
				t.Fatalf("record %d %v lacks %q", i, r, f)
			}
		}
		ph, _ := r["ph"].(string)
		name, _ := r["name"].(string)
		ts, tsOK := r["ts"].(float64)
		_, pidOK := r["pid"].(float64)
		_, tidOK := r["tid"].(float64)
		args, argsOK := r["args"].(map[string]any)
		if !tsOK || !pidOK || !tidOK || !argsOK || name == "" {
			t.Fatalf("record %d has fields of the wrong type: %v", i, r)
		}
		switch ph {
		case "M":
			if name != "process_name" && name != "thread_name" || args["name"] == nil {
				t.Errorf("metadata record %v", r)
			}
		case "i":
			if r["s"] != "t" {
				t.Errorf("instant without thread scope: %v", r)
			}
			instants = append(instants, fmt.Sprintf("%v@%v/%v", name, ts, r["tid"]))
		case "X":
			dur, ok := r["dur"].(float64)
			if !ok {
				t.Errorf("slice without dur: %v", r)
			}
			slices = append(slices, fmt.Sprintf("%s@%v+%v", name, ts, dur))
		case "C":
			for k, v := range args {
				if _, ok := v.(float64); !ok {
					t.Errorf("counter %s series %s is %T, not a number", name, k, v)
				}
			}
			counters = append(counters, fmt.Sprintf("%s@%v", name, ts))
		default:
			t.Errorf("record %d: phase %q", i, ph)
		}
	}
	sort.Strings(slices)
	// Four labels, each lasting until the next (the last to event 37).
	if got, want := strings.Join(slices, " "), "back to A@30+7 loader builds the tables@0+15 process A@15+7 process B@22+8"; got != want {
		t.Errorf("label slices %s, want %s", got, want)
	}
	want := []string{
		"efer 0x900@11/3", "cr4 0x20@12/3", "cr3 0x300000@13/3", "cr0 0x80010011@14/3",
		"sync-pt@16/2", "dirty-trap@18/2", "accessed-trap@19/2", "#PF 0x3@20/1", "#PF 0x0@21/1",
		"cr3 0x310000@23/3", "sync-pt@24/2", "dirty-trap@25/2", "#PF 0x0@26/1",
		"cr3 0x300000@31/3", "#PF 0x0@32/1", "accessed-trap@36/2",
	}
	if strings.Join(instants, " ") != strings.Join(want, " ") {
		t.Errorf("instants\n%s\nwant\n%s", strings.Join(instants, " "), strings.Join(want, " "))
	}
	// Counters every 10 events and at the end: 10, 20, 30, 37.
	n := map[string]int{}
	for _, c := range counters {
		n[c[strings.LastIndex(c, "@")+1:]]++
	}
	if len(n) != 4 || n["10"] != 5 || n["37"] != 5 {
		t.Errorf("counter samples %v", counters)
	}
}

func TestPerfettoFilterAndCap(t *testing.T) {
	count := func(recs []map[string]any) (n int) {
		for _, r := range recs {
			if r["ph"] == "i" {
				n++
			}
		}
		return
	}
	if n := count(perfettoOf(t, "!ok", 1000, 1000)); n != 4 {
		t.Errorf("--where !ok: %d instants, want the 4 faults", n)
	}
	if n := count(perfettoOf(t, "", 1000, 3)); n != 3 {
		t.Errorf("cap 3: %d instants", n)
	}
}
