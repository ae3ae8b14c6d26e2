package viz

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

var update = flag.Bool("update", false, "rewrite the golden pictures in testdata/golden")

// goldens are the pictures the renderer must reproduce pixel for pixel:
// every view, every guest paging mode (real, protected, 32-bit, PAE,
// long mode), shadow paging on several host modes, nested paging and
// EPT, the hypervisor mappings floating and fixed.
var goldens = []scenario{
	{name: "real-overview", sample: "modes.txt", at: "5", view: ViewOverview, w: 1024, h: 640},
	{name: "protected-walk", sample: "modes.txt", at: "9", view: ViewWalk, w: 1024, h: 640},
	{name: "32bit-hierarchy", sample: "boot.txt", at: "the kernel heap at 0xc0800000 is mapped on demand: the first access to a page faults, the handler maps a page, the access is retried",
		view: ViewHierarchy, w: 1280, h: 800},
	{name: "32bit-host32-overview", sample: "modes.txt", at: "the guest maps the missing page and retries", hostMode: "32bit", view: ViewOverview, w: 1024, h: 640},
	{name: "pae-hierarchy", sample: "boot.txt", at: "1060", hostMode: "pae", view: ViewHierarchy, w: 1024, h: 640},
	{name: "pae-walk", sample: "modes.txt", at: "51", view: ViewWalk, w: 1024, h: 640},
	{name: "long-overview", sample: "modes.txt", at: "user mode reads a user page, then writes a supervisor big page", view: ViewOverview, w: 1280, h: 800},
	{name: "long-overview-1080p", sample: "multiprocess.txt", at: "switch to process 5", view: ViewOverview, w: 1920, h: 1080},
	{name: "long-memory-devices", sample: "devices.txt", at: "600", view: ViewMemory, w: 1280, h: 800},
	{name: "long-memory-overcommit", sample: "overcommit.txt", at: "1800", view: ViewMemory, w: 1024, h: 640},
	{name: "nested-walk", sample: "modes.txt", at: "non-canonical address:", paging: engine.PagingNested, view: ViewWalk, va: 0x200010, hasVA: true, w: 1280, h: 800},
	{name: "nested-hierarchy", sample: "boot.txt", at: "1120", paging: engine.PagingNested, view: ViewHierarchy, w: 1024, h: 640},
	// A counter picked in the statistics panel: the timeline shows
	// where it changed.
	{name: "long-overview-counter", sample: "multiprocess.txt", at: "2500", view: ViewOverview, counter: "/PGM/Pool/Cache/Hits", w: 1280, h: 800},
	{name: "ept-overview", sample: "multiprocess.txt", at: "1000", paging: engine.PagingEPT, view: ViewOverview, w: 1280, h: 800},
	{name: "mappings-intermediate", sample: "mapping-conflict.txt", at: "200", view: ViewIntermediate, w: 1280, h: 800},
	{name: "mappings-fixed-intermediate", sample: "mapping-conflict.txt", at: "420", view: ViewIntermediate, w: 1024, h: 640},
	{name: "mappings-hierarchy", sample: "mapping-conflict.txt", at: "200", view: ViewHierarchy, w: 1280, h: 800},
	{name: "mappings-nested-intermediate", sample: "mapping-conflict.txt", at: "300", paging: engine.PagingNested, view: ViewIntermediate, w: 1024, h: 640},
	// Today's MMU: a protection-key fault (the rule in words, K1 in the
	// leaf, PCID, AC and PKRU in the mode bar) and a real Linux guest's
	// user page with key 1 under 5-level paging, SMEP and SMAP.
	{name: "modern-key-walk", sample: "x86-modern.txt", at: "3475", view: ViewWalk, w: 1024, h: 640},
	{name: "linux-hierarchy", sample: "linux.txt", view: ViewHierarchy, va: 0x7f5ef3f49000, hasVA: true, w: 1280, h: 800},
}

func TestGolden(t *testing.T) {
	var failed string
	for _, sc := range goldens {
		t.Run(sc.name, func(t *testing.T) {
			m := replay(t, sc)
			var l List
			Layout(m, &l)
			checkList(t, &l)
			got := Rasterize(&l, l.Width, l.Height)
			path := filepath.Join("testdata", "golden", sc.name+".png")
			if *update {
				var buf bytes.Buffer
				if err := png.Encode(&buf, got); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run go test ./viz -run Golden -update to create it)", err)
			}
			defer f.Close()
			want, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			n, first := diffPixels(got, want)
			if n == 0 {
				return
			}
			if failed == "" {
				failed, err = os.MkdirTemp("", "viz-golden-")
				if err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(failed, sc.name+".png")
			var buf bytes.Buffer
			if err := png.Encode(&buf, got); err == nil {
				err = os.WriteFile(out, buf.Bytes(), 0o644)
			}
			t.Errorf("%d pixels differ from %s, the first at %v; the picture drawn is in %s (go test ./viz -run Golden -update accepts it)",
				n, path, first, out)
		})
	}
}

// diffPixels counts the pixels where a and b differ (every pixel when
// their sizes do) and returns the first.
func diffPixels(a *image.RGBA, b image.Image) (int, image.Point) {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy(), a.Bounds().Min
	}
	if rb, ok := b.(*image.RGBA); ok && bytes.Equal(a.Pix, rb.Pix) {
		return 0, image.Point{}
	}
	n, first := 0, image.Point{}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := a.RGBAAt(x, y)
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if uint32(c.R) != r2>>8 || uint32(c.G) != g2>>8 || uint32(c.B) != b2>>8 || uint32(c.A) != a2>>8 {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
			}
		}
	}
	return n, first
}

// checkList verifies what Layout promises: every primitive inside its
// panel and the frame, panels apart, and texts apart within a panel.
func checkList(t *testing.T, l *List) {
	t.Helper()
	frame := Rect{0, 0, l.Width, l.Height}
	for i := range l.Prims {
		p := &l.Prims[i]
		r := p.Rect()
		pr := l.Panels[p.Panel].R
		if !r.In(frame) || !r.In(pr) {
			t.Errorf("%v %q at %v outside panel %s %v", p.Op, l.TextOf(p), r, l.Panels[p.Panel].Name, pr)
		}
	}
	for i := 1; i < len(l.Panels); i++ {
		for j := i + 1; j < len(l.Panels); j++ {
			a, b := l.Panels[i], l.Panels[j]
			if a.R.Overlaps(b.R) {
				t.Errorf("panels %s %v and %s %v overlap", a.Name, a.R, b.Name, b.R)
			}
		}
	}
	// Texts must not overlap one another: a label over a label is
	// unreadable. (Text over cells is allowed: letters in entry cells.)
	var texts []Rect
	var owner []int
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op != OpText {
			continue
		}
		r := p.Rect()
		// The line box includes the descent and some air: shrink it to
		// the ink's rows so that lines a pitch apart do not count.
		r.Y += r.H / 5
		r.H -= 2 * r.H / 5
		for k, o := range texts {
			if r.Overlaps(o) {
				q := &l.Prims[owner[k]]
				t.Errorf("text %q at %v overlaps %q at %v", l.TextOf(p), p.Rect(), l.TextOf(q), q.Rect())
			}
		}
		texts = append(texts, r)
		owner = append(owner, i)
	}
}
