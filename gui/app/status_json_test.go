package app

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// TestStatusJSON: the hand-written JSON of Status parses back to the same
// value and has exactly the keys encoding/json would write.
func TestStatusJSON(t *testing.T) {
	for _, s := range []Status{
		{},
		{Source: `tour "x" \ <y>`, Event: 1 << 60, Total: 99, Playing: true, Busy: true, Ended: true, Speed: "flat out",
			View: "walk", VA: "0xffff888000000000", Selected: true, Walk: "0x1 -> 0x2", Mode: "PAE", Label: "fork\n\x01",
			Overlay: "help", Error: "é\u2028", Frames: 7, Location: "#trace=a&event=3", Host: "amd64-nx", Paging: "nested",
			Pool: -1, FPS: 59.94, Costs: Costs{Seconds: 1e-7, Ticks: 3, Pictures: 4, Update: 1e22, Layout: 0.25, Raster: 3, Upload: 12.5}},
	} {
		got := s.appendJSON(nil)
		var back Status
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, s)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if gk, wk := keys(t, got), keys(t, want); !reflect.DeepEqual(gk, wk) {
			t.Errorf("keys %v, encoding/json writes %v", gk, wk)
		}
	}
}

// keys lists the keys of a JSON object and of the objects inside it.
func keys(t *testing.T, b []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(string, map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			out = append(out, prefix+k)
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", m)
	slices.Sort(out)
	return out
}

// TestTextsJSON: the hand-written list of texts reads back as JSON with
// the texts of the frame.
func TestTextsJSON(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}, Event: 60})
	a.dirty = true
	a.Frame()
	var got struct {
		Width, Height int
		Scale         float64
		Texts         []TextBox
	}
	if err := json.Unmarshal([]byte(a.TextsJSON()), &got); err != nil {
		t.Fatal(err)
	}
	if got.Width != 1280 || got.Scale != 1 || len(got.Texts) < 100 || got.Texts[0].Text == "" || got.Texts[0].Size == 0 {
		t.Errorf("texts: %dx%d at %g, %d texts, first %+v", got.Width, got.Height, got.Scale, len(got.Texts), got.Texts[0])
	}
}
