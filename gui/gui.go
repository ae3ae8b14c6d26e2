// Package gui runs the explorer (package app) in an Ebiten window, on
// the desktop or in a browser canvas. It is thin on purpose: it turns
// Ebiten's input into app.Input, and the app's display lists into pixels.
//
// Frames are rasterised in Go by the PNG renderer and uploaded with one
// WritePixels: a frame holds thousands of small rectangles and glyphs,
// which costs fewer draw calls (and, in the browser on a software GL,
// less time) that way than as Ebiten vector drawing, and the window
// shows exactly the pixels `explorer render` writes. Nothing is
// rasterised or uploaded when nothing changed.
//
// Importing this package (Ebiten) needs a display at start-up: only the
// GUI entry points (cmd/explorer-gui, wasm) may import it.
package gui

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Options configure Run.
type Options struct {
	Title string
	// Width and Height are the window's initial size (desktop).
	Width, Height int
	// Screenshot, when set, is where the first frame drawn once the
	// replay has settled is written, as PNG (the window's own pixels),
	// through package safeout: never over one of Inputs, never
	// half-written; "-" is standard output.
	Screenshot string
	// Inputs are the files the window shows (a trace): the screenshot
	// refuses to replace them.
	Inputs []string
	// Exit ends the program after the screenshot.
	Exit bool
	// Frame, when set, is called after each frame is uploaded.
	Frame func()
	// Input, when set, may add to each tick's input (scripted keys).
	Input func(*app.Input)
	// PlatformKeys says that Input delivers the keys that are not
	// characters (Enter, Escape, arrows, ...) from the platform's own
	// key events, and Run must not poll them: in the browser a quick tap
	// can begin and end between two ticks, and polling would lose it.
	PlatformKeys bool
	// PlatformMouse says that Input queues the presses of the left
	// button (app.Input.Clicks) from the platform's own events, and Run
	// must not poll them: a click shorter than a tick would be lost.
	PlatformMouse bool
	// ExitAfter, when positive, ends the program after that long and
	// reports the frames drawn per second on Report.
	ExitAfter time.Duration
	Report    io.Writer
}

// Run shows a in a window until it is closed.
func Run(a *app.App, o Options) error {
	g := &game{a: a, o: o, rd: viz.NewRenderer()}
	w, h := o.Width, o.Height
	if w <= 0 || h <= 0 {
		w, h = 1280, 800
	}
	ebiten.SetWindowSize(w, h)
	ebiten.SetWindowTitle(o.Title)
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	// The frame is redrawn only when it changed; the screen keeps the
	// last one meanwhile.
	ebiten.SetScreenClearedEveryFrame(false)
	ebiten.SetRunnableOnUnfocused(true)
	err := ebiten.RunGame(g)
	if g.err != nil {
		return g.err
	}
	return err
}

type game struct {
	a  *app.App
	o  Options
	rd *viz.Renderer

	img    *image.RGBA   // the frame in Go memory
	off    *ebiten.Image // the frame on the GPU
	keys   []ebiten.Key
	in     app.Input
	shot   bool        // the screenshot was written
	screen image.Point // the size of the screen last drawn on
	err    error
	quit   bool
	start  time.Time
	frames int
	ev0    uint64 // the event at start

	// What the time went to: this second's (shown in the app's Status)
	// and the whole run's (the report).
	cost, total app.Costs
	costAt      time.Time
}

var keyMap = map[ebiten.Key]app.Key{
	ebiten.KeyArrowLeft: app.KeyLeft, ebiten.KeyArrowRight: app.KeyRight,
	ebiten.KeyArrowUp: app.KeyUp, ebiten.KeyArrowDown: app.KeyDown,
	ebiten.KeyHome: app.KeyHome, ebiten.KeyEnd: app.KeyEnd,
	ebiten.KeyPageUp: app.KeyPageUp, ebiten.KeyPageDown: app.KeyPageDown,
	ebiten.KeyEnter: app.KeyEnter, ebiten.KeyNumpadEnter: app.KeyEnter,
	ebiten.KeyEscape: app.KeyEscape, ebiten.KeyBackspace: app.KeyBackspace,
	ebiten.KeyTab: app.KeyTab, ebiten.KeyF1: app.KeyF1,
}

// repeated reports whether a held key fires in this tick: when pressed,
// then after a third of a second every other tick.
func repeated(k ebiten.Key) bool {
	d := inpututil.KeyPressDuration(k)
	return d == 1 || d >= 20 && d%2 == 0
}

func (g *game) input() *app.Input {
	in := &g.in
	in.Keys = in.Keys[:0]
	if !g.o.PlatformKeys {
		for k, ak := range keyMap {
			if repeated(k) {
				in.Keys = append(in.Keys, ak)
			}
		}
	}
	in.Chars = ebiten.AppendInputChars(in.Chars[:0])
	in.Shift = ebiten.IsKeyPressed(ebiten.KeyShift)
	in.Ctrl = ebiten.IsKeyPressed(ebiten.KeyControl)
	in.MouseX, in.MouseY = ebiten.CursorPosition()
	w, h := g.a.FrameSize()
	in.MouseIn = in.MouseX >= 0 && in.MouseY >= 0 && in.MouseX < w && in.MouseY < h
	in.Clicks = in.Clicks[:0]
	in.Pressed = !g.o.PlatformMouse && inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft)
	in.Released = inpututil.IsMouseButtonJustReleased(ebiten.MouseButtonLeft)
	in.Down = ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft)
	_, in.Wheel = ebiten.Wheel()
	return in
}

func (g *game) Update() error {
	if g.quit {
		return ebiten.Termination
	}
	if g.start.IsZero() {
		g.start, g.costAt = time.Now(), time.Now()
		g.ev0 = g.a.Status().Event
	}
	if g.o.ExitAfter > 0 && time.Since(g.start) >= g.o.ExitAfter {
		if g.o.Report != nil {
			g.report()
		}
		return ebiten.Termination
	}
	g.measure()
	if dropped := ebiten.DroppedFiles(); dropped != nil {
		g.openDropped(dropped)
	}
	g.a.SetFPS(ebiten.ActualFPS())
	in := g.input()
	if g.o.Input != nil {
		g.o.Input(in)
	}
	t := time.Now()
	g.a.Update(*in)
	g.cost.Update += ms(time.Since(t))
	g.cost.Ticks++
	return nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// measure hands the app the costs of the last second, as milliseconds
// per second.
func (g *game) measure() {
	d := time.Since(g.costAt)
	if d < time.Second {
		return
	}
	c := g.cost
	c.Seconds = d.Seconds()
	g.total.Seconds += c.Seconds
	g.total.Ticks += c.Ticks
	g.total.Pictures += c.Pictures
	g.total.Update += c.Update
	g.total.Layout += c.Layout
	g.total.Raster += c.Raster
	g.total.Upload += c.Upload
	per := 1 / c.Seconds
	c.Update, c.Layout, c.Raster, c.Upload = c.Update*per, c.Layout*per, c.Raster*per, c.Upload*per
	g.a.SetCosts(c)
	g.cost, g.costAt = app.Costs{}, time.Now()
}

// report prints the frames and events per second of the run, and where
// the time went: the replay (Update), and per picture the layout, the
// rasterisation and the upload; the rest is Ebiten's, the GL's and the
// display's.
func (g *game) report() {
	d := time.Since(g.start).Seconds()
	ev := g.a.Status().Event - g.ev0
	fmt.Fprintf(g.o.Report, "%d frames in %.1fs: %.1f frames/s; %d events (%.0f events/s)\n",
		g.frames, d, float64(g.frames)/d, ev, float64(ev)/d)
	t := g.total
	if t.Seconds == 0 || t.Pictures == 0 {
		return
	}
	n := float64(t.Pictures)
	fmt.Fprintf(g.o.Report, "time: %.0f%% in Update (%.1f ticks/s); per picture %.1f ms layout, %.1f ms rasterising, %.1f ms uploading; %.0f%% elsewhere (Ebiten, GL, display)\n",
		t.Update/t.Seconds/10, float64(t.Ticks)/t.Seconds, t.Layout/n, t.Raster/n, t.Upload/n,
		100-(t.Update+t.Layout+t.Raster+t.Upload)/t.Seconds/10)
}

// openDropped opens the first file dropped on the window.
func (g *game) openDropped(fsys fs.FS) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil || len(ents) == 0 {
		return
	}
	name := ents[0].Name()
	f, err := fsys.Open(name)
	if err != nil {
		g.a.Fail(err)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, app.MaxDataBytes+1))
	if err == nil && len(data) > app.MaxDataBytes {
		err = fmt.Errorf("larger than %d MiB", app.MaxDataBytes>>20)
	}
	if err != nil {
		g.a.Fail(fmt.Errorf("%s: %v", name, err))
		return
	}
	g.a.OpenData(name, data)
}

func (g *game) rasterize(l *viz.List) {
	r := image.Rect(0, 0, l.Width, l.Height)
	if g.img == nil || g.img.Rect != r {
		g.img = image.NewRGBA(r)
		if g.off != nil {
			g.off.Deallocate()
		}
		g.off = ebiten.NewImage(l.Width, l.Height)
	}
	white(g.img.Pix)
	g.rd.Render(g.img, l)
}

// white fills pix with 255 by doubling copies: memmove is several times
// faster than a loop over the bytes, and this runs for every picture.
func white(pix []byte) {
	if len(pix) == 0 {
		return
	}
	pix[0] = 255
	for n := 1; n < len(pix); n *= 2 {
		copy(pix[n:], pix[:n])
	}
}

// Draw builds the picture when something changed (the app decides, see
// app.Frame), rasterises and uploads it; otherwise it leaves the screen
// alone, and Ebiten then stops presenting frames. Pictures are built
// here rather than in Update so that none is built for nothing when
// Ebiten runs several ticks in a frame to catch up.
func (g *game) Draw(screen *ebiten.Image) {
	t0 := time.Now()
	// A screen of a new size starts black: draw the frame again even if
	// nothing changed (the tour toggled, the window resized).
	if sz := screen.Bounds().Size(); sz != g.screen {
		g.screen = sz
		g.a.Invalidate()
	}
	l, changed := g.a.Frame()
	if !changed {
		return
	}
	t1 := time.Now()
	g.rasterize(l)
	t2 := time.Now()
	g.off.WritePixels(g.img.Pix)
	screen.DrawImage(g.off, nil)
	g.cost.Layout += ms(t1.Sub(t0))
	g.cost.Raster += ms(t2.Sub(t1))
	g.cost.Upload += ms(time.Since(t2))
	g.cost.Pictures++
	g.frames++
	if g.o.Frame != nil {
		g.o.Frame()
	}
	if g.o.Screenshot != "" && !g.shot && !g.a.Busy() {
		g.shot = true
		if err := writeShot(screen, g.o.Screenshot, g.o.Inputs); err != nil {
			g.err = err
			g.quit = true
			return
		}
		if g.o.Exit {
			g.quit = true
		}
	}
}

// writeShot reads the screen back from the GPU: the test of what the
// window really shows.
func writeShot(screen *ebiten.Image, path string, inputs []string) error {
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	// Through package safeout: never over one of inputs, never half a
	// picture under path's name.
	return safeout.WriteFile(path, os.Stdout, inputs, func(w io.Writer) error { return png.Encode(w, img) })
}

func (g *game) Layout(outW, outH int) (int, int) {
	// Frames are in device pixels: the app sizes text in CSS (logical)
	// pixels times the scale, so that a 2x screen is as readable as a
	// 1x one, only sharper.
	s := ebiten.Monitor().DeviceScaleFactor()
	if s <= 0 {
		s = 1
	}
	g.a.SetScale(s)
	g.a.Resize(int(float64(outW)*s), int(float64(outH)*s))
	return g.a.FrameSize()
}

// ErrNoDisplay is what the desktop entry point reports when it cannot
// open a window.
var ErrNoDisplay = errors.New("no display: set DISPLAY (or run under xvfb-run)")
