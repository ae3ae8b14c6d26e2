package workload

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, want := range []string{"boot", "devices", "mapping-conflict", "modes-tour", "multiprocess", "overcommit"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %s", names, want)
		}
	}
	for _, n := range names {
		info, err := Describe(n)
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != n || info.Summary == "" || strings.Contains(info.Summary, "\n") {
			t.Errorf("Describe(%s) = %+v: want its name and a one-line summary", n, info)
		}
		for _, p := range info.Params {
			if p.Name == "" || p.Help == "" {
				t.Errorf("%s: parameter %+v undocumented", n, p)
			}
		}
	}
}

// TestNewErrors: what New refuses, and that the message says what it
// accepts.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		is     error
		want   []string
	}{
		{"frobnicate", nil, ErrUnknown, []string{`"frobnicate"`, "boot", "multiprocess"}},
		{"boot", map[string]string{"procs": "3"}, ErrParam, []string{`"procs"`, "touches", "heap", "ram"}},
		{"boot", map[string]string{"touches": "many"}, ErrParamValue, []string{"touches=many", "not a decimal integer"}},
		{"boot", map[string]string{"touches": "0"}, ErrParamValue, []string{"touches=0", "outside 1..1000"}},
		{"multiprocess", map[string]string{"mode": "64bit"}, ErrParamValue, []string{"mode=64bit", "32bit, pae, long, la57"}},
		{"multiprocess", map[string]string{"nx": "yes"}, ErrParamValue, []string{"true, false"}},
		{"multiprocess", map[string]string{"procs": "64", "heap": "4096", "ram": "8"}, ErrParamValue, []string{"ram=8 MiB is too small"}},
		{"modes-tour", map[string]string{"la57": "maybe"}, ErrParamValue, []string{"la57=maybe", "true, false"}},
		{"modes-tour", map[string]string{"zzz": "1", "aaa": "2"}, ErrParam, []string{`"aaa"`, "want one of la57"}}, // the first by name
		{"devices", map[string]string{"mode": "la57"}, ErrParamValue, []string{"mode=la57", "32bit, pae, long"}},
		{"mapping-conflict", map[string]string{"grow": "100", "pages": "64", "ram": "8"}, ErrParamValue, []string{"ram=8 MiB is too small"}},
		{"overcommit", map[string]string{"zero": "4096", "ram": "8"}, ErrParamValue, []string{"ram=8 MiB is too small"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.name, 1, tc.params)
			if err == nil {
				w.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	if _, err := Describe("frobnicate"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Describe: %v", err)
	}
}

// events drives a workload on the reference CPU (it needs no other) and
// returns its first n events.
func events(t *testing.T, w Workload, n int) []engine.Event {
	t.Helper()
	defer w.Close()
	ref, err := engine.NewReference(w.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	var evs []engine.Event
	if _, err := Run(t.Context(), w, ref, n, func(ev engine.Event, _ *engine.Outcome) error {
		evs = append(evs, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestDeterministic: the same name, seed and parameters give the same
// events, from New or from the metadata of the header; another seed
// gives others.
func TestDeterministic(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			params := map[string]string{}
			if name == "multiprocess" {
				params["procs"] = "3"
			}
			w, err := New(name, 7, params)
			if err != nil {
				t.Fatal(err)
			}
			h := w.Header()
			a := events(t, w, 1500)
			if h.Meta[MetaWorkload] != name || h.Meta[MetaSeed] != "7" {
				t.Errorf("meta %v", h.Meta)
			}
			info, _ := Describe(name)
			for _, p := range info.Params {
				want := p.Default
				if v, ok := params[p.Name]; ok {
					want = v
				}
				if got := h.Meta[MetaParamPrefix+p.Name]; got != want {
					t.Errorf("meta %s%s = %q, want %q", MetaParamPrefix, p.Name, got, want)
				}
			}
			w2, err := NewFromMeta(h.Meta)
			if err != nil {
				t.Fatal(err)
			}
			if b := events(t, w2, 1500); !slices.Equal(a, b) {
				t.Errorf("NewFromMeta(%v) gives other events", h.Meta)
			}
			w3, _ := New(name, 8, params)
			if c := events(t, w3, 1500); slices.Equal(a, c) {
				t.Errorf("seeds 7 and 8 give the same events")
			}
		})
	}
	if _, err := NewFromMeta(map[string]string{"seed": "1"}); err == nil {
		t.Error("NewFromMeta without a workload: no error")
	}
	if _, err := NewFromMeta(map[string]string{"workload": "boot", "seed": "x"}); err == nil {
		t.Error("NewFromMeta with a bad seed: no error")
	}
}

// TestNextProtocol: Next wants the outcome of the event it returned, and
// Close ends a workload early.
func TestNextProtocol(t *testing.T) {
	w, err := New("modes-tour", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := engine.NewReference(w.Header().Config)
	ev, err := w.Next(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Next(nil); err == nil || !strings.Contains(err.Error(), "needs the outcome") {
		t.Errorf("Next(nil) after the first event: %v", err)
	}
	other := engine.Outcome{Event: engine.Event{Kind: engine.EvInvlpg, Addr: 1}}
	if _, err := w.Next(&other); err == nil || !strings.Contains(err.Error(), "the outcome of invlpg 0x1") {
		t.Errorf("Next with the outcome of another event: %v", err)
	}
	o, _ := ref.Apply(ev)
	if _, err := w.Next(&o); err != nil {
		t.Errorf("Next with the right outcome: %v", err)
	}
	w.Close()
	if _, err := w.Next(&o); !errors.Is(err, io.EOF) {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}
	w.Close() // twice is fine
}

// liar is an engine whose accesses all fault after the first events: no
// model can explain that.
type liar struct{ *engine.Reference }

func (l liar) Apply(ev engine.Event) (engine.Outcome, error) {
	o, err := l.Reference.Apply(ev)
	if ev.Kind.Access() && o.Index >= 100 {
		o.OK, o.Fault = false, x86.Fault{Kind: x86.NotPresent}
	}
	return o, err
}

// TestModelError: an outcome a model cannot explain stops it with a
// *ModelError naming the event, and Run returns it.
func TestModelError(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			w, err := New(name, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ref, _ := engine.NewReference(w.Header().Config)
			n, err := Run(t.Context(), w, liar{ref}, 0, nil)
			var me *ModelError
			if !errors.As(err, &me) || me.Workload != name || me.Index < 100 || uint64(n) <= me.Index {
				t.Fatalf("Run: %d events, %v; want a *ModelError after event 100", n, err)
			}
			if _, err := w.Next(nil); !errors.As(err, &me) {
				t.Errorf("Next after the error: %v", err)
			}
		})
	}
}
