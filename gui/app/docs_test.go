package app

import (
	"bytes"
	"os"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// TestDocsPictures writes the README's pictures of the window when
// DOCS names the directory (go test ./gui/app -run DocsPictures with
// DOCS=../../docs): the tour at a step, the nested chapter, the
// protection-key step of today's MMU at the smallest size, a question.
func TestDocsPictures(t *testing.T) {
	dir := os.Getenv("DOCS")
	if dir == "" {
		t.Skip("DOCS is not set")
	}
	write := func(a *App, name string) {
		a.dirty = true
		l, _ := a.Frame()
		var b bytes.Buffer
		if err := viz.RenderPNG(&b, l, l.Width, l.Height); err != nil {
			t.Fatal(err)
		}
		data := b.Bytes()
		if err := os.WriteFile(dir+"/"+name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	a.exercises = false
	a.Resize(1366, 768)
	for range 9 {
		a.StepUntil(UntilLabel)
		run(a)
	}
	write(a, "demo.png")
	for range 31 {
		a.StepUntil(UntilLabel)
		run(a)
		run(a)
	}
	write(a, "tour-nested.png")
	if err := a.GoTo("Now the program's write"); err != nil {
		t.Fatal(err)
	}
	run(a)
	run(a)
	a.Resize(1024, 640)
	write(a, "tour-modern.png")
	b := newTest(t, State{Source: Source{Sample: "boot.txt"}, View: viz.ViewWalk})
	b.Resize(1366, 768)
	b.GoTo("low addresses are not mapped any more")
	b.Settle()
	b.Ask()
	b.Answer(b.quiz.right)
	b.Settle()
	write(b, "quiz.png")
}
