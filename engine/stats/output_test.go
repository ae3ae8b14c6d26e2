package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a small /PGM tree in every state a statistic can be in:
// counters zero and not, profiles timed, untimed and unused, gauges, a
// family with two members used, a statistic with children, and a
// description that CSV must quote.
func fixture() *Registry {
	r := New()
	ft := useFakeTime(r)
	timed := func(p *Profile, ns ...int64) {
		for _, d := range ns {
			s := p.Begin()
			ft.ns += d
			p.End(s)
		}
	}

	r.Counter("/PGM/cGuestModeChanges", UnitOccurrences, "Guest paging mode switches.").Add(3)
	r.Gauge("/PGM/Page/cAllPages", UnitPages, "Guest RAM pages in any state.", func() uint64 { return 4096 })
	r.Gauge("/PGM/Page/cPrivatePages", UnitPages, "Pages with private backing.", func() uint64 { return 96 })
	r.Gauge("/PGM/Page/cZeroPages", UnitPages, "Pages still backed by the zero page.", func() uint64 { return 4000 })
	r.Counter("/PGM/DynAlloc/TotalAlloc", UnitBytes, `Guest RAM allocated so far, in bytes ("dynamic" RAM).`).Add(1 << 20)

	timed(r.Profile("/PGM/Pool/Alloc", "Handing out a pool page."), 500, 1000, 1500, 2000)
	r.Profile("/PGM/Pool/Free", "Returning a page to the pool.")
	r.Counter("/PGM/Pool/Cache/Hits", UnitOccurrences, "Lookups that found a cached page.").Add(40)
	r.Counter("/PGM/Pool/Cache/Misses", UnitOccurrences, "Lookups that had to build a page.")
	r.Gauge("/PGM/Pool/cCurPages", UnitPages, "Pages the pool holds now.", func() uint64 { return 12 })

	trap := r.Profile("/PGM/RZ/Trap0e", "The #PF handler, whole body.")
	timed(trap, 3000, 5000)
	r.SetTiming(false)
	timed(trap, 7000)
	timed(r.Profile("/PGM/R3/SyncCR3", "Resyncing the shadow tables after a CR3 load."), 1, 1)
	r.SetTiming(true)
	r.Counter("/PGM/RZ/Trap0e/Time2/SyncPT", UnitOccurrences, "Faults resolved by building a shadow PT.").Add(7)
	r.Counter("/PGM/RZ/Trap0e/Time2/GuestTrap", UnitOccurrences, "Faults that were the guest's own.").Add(2)
	r.Counter("/PGM/RZ/Trap0e/Err/User/NPRead", UnitOccurrences, "User-mode reads of not-present pages.")

	pd := r.CounterFamily("/PGM/PDSyncPT/%04X", UnitOccurrences, "Shadow PTs built, per PD index.", 1024)
	pd.Add(0x300, 5)
	pd.Inc(1)
	return r
}

func TestGolden(t *testing.T) {
	cases := []struct {
		file  string
		write func(r *Registry, w io.Writer) error
	}{
		{"tree.golden", func(r *Registry, w io.Writer) error { return r.WriteTree(w, TreeOptions{}) }},
		{"tree_nonzero.golden", func(r *Registry, w io.Writer) error {
			return r.WriteTree(w, TreeOptions{SkipZero: true})
		}},
		{"tree_pool.golden", func(r *Registry, w io.Writer) error {
			return r.WriteTree(w, TreeOptions{Prefix: "/PGM/Pool/"})
		}},
		{"stats.csv.golden", (*Registry).WriteCSV},
		{"stats.json.golden", (*Registry).WriteJSON},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var got bytes.Buffer
			if err := c.write(fixture(), &got); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("output differs from %s (go test -update rewrites it)\n got:\n%s\nwant:\n%s", path, got.Bytes(), want)
			}
		})
	}
}

// The JSON export is what the UI reads: it must parse, and say what
// Snapshot says.
func TestJSONMatchesSnapshot(t *testing.T) {
	r := fixture()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got []jsonSample
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON output does not parse: %v", err)
	}
	snap := r.Snapshot()
	if len(got) != len(snap) {
		t.Fatalf("%d objects, want %d", len(got), len(snap))
	}
	for i, s := range snap {
		g := got[i]
		if g.Name != s.Name || g.Kind != s.Kind.String() || g.Unit != s.Unit.String() || g.Value != s.Value ||
			g.Calls != s.Calls || g.TotalNS != s.TotalNS || g.MinNS != s.MinNS || g.MaxNS != s.MaxNS || g.Desc != s.Desc {
			t.Errorf("object %d = %+v, sample %+v", i, g, s)
		}
	}
}

func TestEmptyOutputs(t *testing.T) {
	r := New()
	for _, c := range []struct {
		name  string
		write func(io.Writer) error
		want  string
	}{
		{"tree", func(w io.Writer) error { return r.WriteTree(w, TreeOptions{}) }, ""},
		{"csv", r.WriteCSV, "name,kind,unit,value,calls,total_ns,description\n"},
		{"json", r.WriteJSON, "[]\n"},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil || b.String() != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, b.String(), err, c.want)
		}
	}
}

type failWriter struct{}

var errFail = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestWriteErrors(t *testing.T) {
	r := fixture()
	for name, write := range map[string]func(io.Writer) error{
		"tree": func(w io.Writer) error { return r.WriteTree(w, TreeOptions{}) },
		"csv":  r.WriteCSV,
		"json": r.WriteJSON,
	} {
		if err := write(failWriter{}); !errors.Is(err, errFail) {
			t.Errorf("%s: error %v, want %v", name, err, errFail)
		}
	}
}

// With timing off, two identical runs give identical exports: what the
// replay tests rely on.
func TestTimingOffIsDeterministic(t *testing.T) {
	run := func() []byte {
		r := New()
		r.SetTiming(false)
		p := r.Profile("/PGM/RZ/Trap0e", "")
		c := r.Counter("/PGM/RZ/Trap0e/Time2/SyncPT", UnitOccurrences, "")
		for range 100 {
			s := p.Begin()
			c.Inc()
			p.End(s)
		}
		var b bytes.Buffer
		r.WriteJSON(&b)
		return b.Bytes()
	}
	if a, b := run(), run(); !bytes.Equal(a, b) {
		t.Errorf("two runs differ:\n%s\n%s", a, b)
	}
}
