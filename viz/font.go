package viz

import (
	_ "embed"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
)

// The Go fonts (regular, mono, bold) without their hinting programs,
// which the renderer never runs: half their size in the browser download
// for the same glyphs. viz/internal/mkfonts makes them; TestEmbeddedFonts
// checks every glyph against golang.org/x/image's originals.
var (
	//go:embed fonts/goregular.ttf
	goRegular []byte
	//go:embed fonts/gomono.ttf
	goMono []byte
	//go:embed fonts/gobold.ttf
	goBold []byte
)

// Text is set in the Go fonts, hinted, at whole-pixel sizes and
// positions, without kerning: a string's width is the sum of its glyphs'
// integer advances, the same in the layout and in every renderer.

// MaxTextSize is the largest text size (pixels) a primitive may ask for.
const MaxTextSize = 96

type faceMetrics struct {
	ascent, descent int
	adv             [128]int16 // ASCII advances
}

var fonts struct {
	once sync.Once
	src  [faceCount]*opentype.Font
	err  error

	metrics [faceCount][MaxTextSize + 1]atomic.Pointer[faceMetrics]

	mu      sync.Mutex // guards measure: faces are not safe for concurrent use
	measure map[[2]int]font.Face
	runes   map[[3]int]int // advances of non-ASCII runes
}

func loadFonts() {
	fonts.once.Do(func() {
		for i, ttf := range [faceCount][]byte{goRegular, goMono, goBold} {
			f, err := opentype.Parse(ttf)
			if err != nil {
				fonts.err = fmt.Errorf("viz: parsing the Go fonts: %w", err)
				return
			}
			fonts.src[i] = f
		}
		fonts.measure = map[[2]int]font.Face{}
		fonts.runes = map[[3]int]int{}
	})
	if fonts.err != nil {
		panic(fonts.err) // the fonts are compiled in: this cannot happen
	}
}

// newFace makes a face of f at size pixels.
func newFace(f Face, size int) font.Face {
	loadFonts()
	face, err := opentype.NewFace(fonts.src[f], &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic(err) // only for a size the callers clamp away
	}
	return face
}

func clampSize(size int) int { return min(max(size, 4), MaxTextSize) }

// metricsOf returns the metrics of (f, size), computing them once.
func metricsOf(f Face, size int) *faceMetrics {
	size = clampSize(size)
	if f >= faceCount {
		f = FaceRegular
	}
	if m := fonts.metrics[f][size].Load(); m != nil {
		return m
	}
	fonts.mu.Lock()
	defer fonts.mu.Unlock()
	if m := fonts.metrics[f][size].Load(); m != nil {
		return m
	}
	face := measureFace(f, size)
	fm := face.Metrics()
	m := &faceMetrics{ascent: fm.Ascent.Ceil(), descent: fm.Descent.Ceil()}
	for r := rune(32); r < 127; r++ {
		a, _ := face.GlyphAdvance(r)
		m.adv[r] = int16(a.Round())
	}
	fonts.metrics[f][size].Store(m)
	return m
}

// measureFace is the shared face used for measuring; fonts.mu held.
func measureFace(f Face, size int) font.Face {
	loadFonts()
	k := [2]int{int(f), size}
	face := fonts.measure[k]
	if face == nil {
		face = newFace(f, size)
		fonts.measure[k] = face
	}
	return face
}

// runeAdvance is the advance of a non-ASCII rune.
func runeAdvance(f Face, size int, r rune) int {
	fonts.mu.Lock()
	defer fonts.mu.Unlock()
	k := [3]int{int(f), size, int(r)}
	if a, ok := fonts.runes[k]; ok {
		return a
	}
	a, ok := measureFace(f, size).GlyphAdvance(r)
	if !ok {
		a, _ = measureFace(f, size).GlyphAdvance('?')
	}
	fonts.runes[k] = a.Round()
	return a.Round()
}

// Ascent is the distance from the top of a line box to the baseline.
func Ascent(f Face, size int) int { return metricsOf(f, size).ascent }

// LineHeight is the height of a line box (ascent + descent), without
// leading.
func LineHeight(f Face, size int) int {
	m := metricsOf(f, size)
	return m.ascent + m.descent
}

// Measure is the advance width of s in pixels.
func Measure(f Face, size int, s string) int {
	m := metricsOf(f, size)
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 32 {
				w += int(m.adv[c])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		w += runeAdvance(f, clampSize(size), r)
		i += n
	}
	return w
}

func measureBytes(f Face, size int, s []byte) int {
	m := metricsOf(f, size)
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 32 {
				w += int(m.adv[c])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		w += runeAdvance(f, clampSize(size), r)
		i += n
	}
	return w
}
