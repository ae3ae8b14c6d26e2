package viz

import (
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// TestEmbeddedFonts: the fonts viz embeds (made by viz/internal/mkfonts)
// are golang.org/x/image's Go fonts glyph for glyph: the same glyph for
// every rune, the same advances and the same outlines at the sizes the
// explorer draws, so that dropping the hinting programs changed bytes,
// not pictures.
func TestEmbeddedFonts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"goregular", goRegular, goregular.TTF},
		{"gomono", goMono, gomono.TTF},
		{"gobold", goBold, gobold.TTF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sfnt.Parse(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			want, err := sfnt.Parse(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := got.NumGlyphs(), want.NumGlyphs(); g != w {
				t.Fatalf("%d glyphs, the original has %d", g, w)
			}
			if len(tc.got) >= len(tc.want) {
				t.Errorf("%d bytes, not smaller than the original's %d", len(tc.got), len(tc.want))
			}
			var gb, wb sfnt.Buffer
			for r := rune(0); r < 0x10000; r++ {
				gi, gerr := got.GlyphIndex(&gb, r)
				wi, werr := want.GlyphIndex(&wb, r)
				if gi != wi || (gerr == nil) != (werr == nil) {
					t.Fatalf("rune %U: glyph %d (%v), the original's %d (%v)", r, gi, gerr, wi, werr)
				}
			}
			for x := sfnt.GlyphIndex(0); int(x) < want.NumGlyphs(); x++ {
				for _, ppem := range []fixed.Int26_6{11 << 6, 13 << 6, 22 << 6} {
					ga, gerr := got.GlyphAdvance(&gb, x, ppem, font.HintingFull)
					wa, werr := want.GlyphAdvance(&wb, x, ppem, font.HintingFull)
					if ga != wa || (gerr == nil) != (werr == nil) {
						t.Fatalf("glyph %d at %v ppem: advance %v, the original's %v", x, ppem, ga, wa)
					}
					gs, gerr := got.LoadGlyph(&gb, x, ppem, nil)
					gs = append(sfnt.Segments(nil), gs...)
					ws, werr := want.LoadGlyph(&wb, x, ppem, nil)
					if (gerr == nil) != (werr == nil) || len(gs) != len(ws) {
						t.Fatalf("glyph %d at %v ppem: %d segments (%v), the original's %d (%v)", x, ppem, len(gs), gerr, len(ws), werr)
					}
					for i := range gs {
						if gs[i] != ws[i] {
							t.Fatalf("glyph %d at %v ppem: segment %d is %v, the original's %v", x, ppem, i, gs[i], ws[i])
						}
					}
				}
			}
		})
	}
}
