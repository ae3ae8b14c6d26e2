//go:build js && wasm

// Command wasm is the browser build of PGM Explorer: the engine, the
// panels and the Ebiten front end in a canvas. It talks to the page
// (web/index.html) through a few globals:
//
//   - pgmOpen(name, bytes): open a trace the user picked or dropped
//     (read locally); returns "" or an error message;
//   - pgmState(): the app's state as JSON (for tests and scripts);
//   - pgmKey(chars): type characters, as if from the keyboard (tests);
//   - #live, an ARIA live region the page holds: the status and the
//     walk in words, for screen readers (App.LiveText);
//   - pgmTexts(): the texts of the last frame with their boxes and sizes,
//     as JSON (tests measure them in screenshots);
//   - pgmPickFile() and pgmReady(), defined by the page: show the file
//     picker; the first frame is on the screen.
//
// The URL fragment carries the state, so that a link reopens the same
// picture; a fragment changed without a reload (the address bar edited,
// back, forward) is applied too.
package main

import (
	"fmt"
	"syscall/js"
	"time"

	"github.com/pgm-explorer/pgm-explorer/gui"
	"github.com/pgm-explorer/pgm-explorer/gui/app"
)

func main() {
	win := js.Global()
	loc := win.Get("location")
	st, err := app.DecodeState(loc.Get("hash").String())
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if st.File != "" {
		msg = fmt.Sprintf("this link was made for the file %s, which only its owner's browser had: open it again with the Open button", st.File)
		st.Source = app.Source{}
	}
	h := &browserHost{win: win}
	a, err := app.New(app.Options{State: st, Host: h})
	if err != nil {
		msg = err.Error()
		st.Source = app.Source{}
		if a, err = app.New(app.Options{State: st, Host: h}); err != nil {
			fatal(win, err)
			return
		}
	}
	if msg != "" {
		a.Fail(fmt.Errorf("%s", msg))
	}
	var pending []rune
	// The keys that are not characters come from the page's keydown
	// events, queued until the next tick: polled once a tick, as on the
	// desktop, a tap shorter than a tick (which SwiftShader or a busy
	// page stretches) would be lost. The browser repeats held keys.
	var keys []app.Key
	win.Call("addEventListener", "keydown", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Get("isComposing").Truthy() {
			return nil
		}
		if k, ok := browserKeys[args[0].Get("key").String()]; ok {
			keys = append(keys, k)
		}
		return nil
	}), true)
	// Presses of the left button on the canvas, queued like the keys: a
	// click can go down and up between two ticks, and Ebiten's polled
	// state would then never show it. Positions go from CSS pixels of
	// the page to the frame's pixels (Ebiten scales the frame to fit
	// the canvas and centres it).
	var clicks []app.Point
	win.Call("addEventListener", "mousedown", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		e := args[0]
		t := e.Get("target")
		if e.Get("button").Int() != 0 || !t.Truthy() || t.Get("tagName").String() != "CANVAS" {
			return nil
		}
		r := t.Call("getBoundingClientRect")
		fw, fh := a.FrameSize()
		rw, rh := r.Get("width").Float(), r.Get("height").Float()
		if fw == 0 || fh == 0 || rw == 0 || rh == 0 {
			return nil
		}
		sc := min(rw/float64(fw), rh/float64(fh))
		ox, oy := (rw-float64(fw)*sc)/2, (rh-float64(fh)*sc)/2
		x := (e.Get("clientX").Float() - r.Get("left").Float() - ox) / sc
		y := (e.Get("clientY").Float() - r.Get("top").Float() - oy) / sc
		if x >= 0 && y >= 0 && x < float64(fw) && y < float64(fh) {
			clicks = append(clicks, app.Point{X: int(x), Y: int(y)})
		}
		return nil
	}), true)
	// Events of the page are queued and applied at the next tick, in
	// Update, like the keys.
	hash, hashChanged := "", false
	win.Call("addEventListener", "hashchange", js.FuncOf(func(js.Value, []js.Value) any {
		hash, hashChanged = loc.Get("hash").String(), true
		return nil
	}))
	win.Set("pgmOpen", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 2 {
			return "pgmOpen(name, bytes)"
		}
		name := args[0].String()
		n := args[1].Get("length").Int()
		if n > app.MaxDataBytes {
			return fmt.Sprintf("%s is larger than %d MiB", name, app.MaxDataBytes>>20)
		}
		data := make([]byte, n)
		js.CopyBytesToGo(data, args[1])
		if err := a.OpenData(name, data); err != nil {
			return err.Error()
		}
		return ""
	}))
	win.Set("pgmState", js.FuncOf(func(js.Value, []js.Value) any { return a.StatusJSON() }))
	win.Set("pgmTexts", js.FuncOf(func(js.Value, []js.Value) any { return a.TextsJSON() }))
	win.Set("pgmKey", js.FuncOf(func(_ js.Value, args []js.Value) any {
		for _, v := range args {
			pending = append(pending, []rune(v.String())...)
		}
		return nil
	}))
	ready := false
	// The live region mirrors the status and the walk for screen
	// readers: written when it changes, at most twice a second while the
	// replay runs (a reader could not follow more).
	live, lastLive, liveAt := win.Get("document").Call("getElementById", "live"), "", time.Time{}
	updateLive := func() {
		if !live.Truthy() || (a.Busy() && time.Since(liveAt) < 500*time.Millisecond) {
			return
		}
		if s := a.LiveText(); s != lastLive {
			lastLive, liveAt = s, time.Now()
			live.Set("textContent", s)
		}
	}
	err = gui.Run(a, gui.Options{
		Title:         "PGM Explorer",
		PlatformKeys:  true,
		PlatformMouse: true,
		Input: func(in *app.Input) {
			in.Clicks = append(in.Clicks, clicks...)
			clicks = clicks[:0]
			in.Chars = append(in.Chars, pending...)
			pending = pending[:0]
			in.Keys = append(in.Keys, keys...)
			keys = keys[:0]
			if hashChanged {
				hashChanged = false
				a.ApplyLocation(hash)
			}
		},
		Frame: func() {
			updateLive()
			if !ready {
				ready = true
				if f := win.Get("pgmReady"); f.Type() == js.TypeFunction {
					f.Invoke()
				}
			}
		},
	})
	if err != nil {
		fatal(win, err)
	}
}

func fatal(win js.Value, err error) {
	doc := win.Get("document")
	if e := doc.Call("getElementById", "error"); e.Truthy() {
		e.Set("textContent", "The explorer stopped: "+err.Error())
		e.Get("style").Set("display", "block")
		doc.Call("getElementById", "loader").Get("style").Set("display", "flex")
	}
	fmt.Println("explorer:", err)
}

// browserHost downloads exports, shows the page's file picker and keeps
// the state in the URL fragment.
type browserHost struct{ win js.Value }

func (h *browserHost) Save(name string, data []byte) (string, error) {
	arr := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(arr, data)
	blob := js.Global().Get("Blob").New([]any{arr})
	url := js.Global().Get("URL").Call("createObjectURL", blob)
	doc := h.win.Get("document")
	link := doc.Call("createElement", "a")
	link.Set("href", url)
	link.Set("download", name)
	doc.Get("body").Call("appendChild", link)
	link.Call("click")
	link.Call("remove")
	js.Global().Get("URL").Call("revokeObjectURL", url)
	return name + " (downloaded)", nil
}

func (h *browserHost) PickFile() bool {
	f := h.win.Get("pgmPickFile")
	if f.Type() != js.TypeFunction {
		return false
	}
	f.Invoke()
	return true
}

func (h *browserHost) SetLocation(frag string) {
	// replaceState: following the replay must not fill the history.
	h.win.Get("history").Call("replaceState", nil, "", "#"+frag)
}

// browserKeys maps KeyboardEvent.key to the app's keys that are not
// characters.
var browserKeys = map[string]app.Key{
	"ArrowLeft": app.KeyLeft, "ArrowRight": app.KeyRight, "ArrowUp": app.KeyUp, "ArrowDown": app.KeyDown,
	"Home": app.KeyHome, "End": app.KeyEnd, "PageUp": app.KeyPageUp, "PageDown": app.KeyPageDown,
	"Enter": app.KeyEnter, "Escape": app.KeyEscape, "Backspace": app.KeyBackspace, "Tab": app.KeyTab, "F1": app.KeyF1,
}
