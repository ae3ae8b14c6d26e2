//go:build e2e

package e2e

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/gui/app"
)

// TestDesktop runs explorer-gui under Xvfb (make e2e-desktop starts it
// with xvfb-run): a binary trace at an event, screenshotted by the
// window itself, must show the panels exactly as the PNG renderer draws
// them; and the window, played for a while, screenshotted by the X
// server, is not blank.
func TestDesktop(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("no DISPLAY: run under xvfb-run -a (make e2e-desktop does)")
	}
	dir := root(t)
	out := outDir(t)
	gui := filepath.Join(dir, "bin", "explorer-gui")
	explorer := filepath.Join(dir, "bin", "explorer")
	need(t, gui)
	need(t, explorer)
	trace := filepath.Join(t.TempDir(), "multiprocess.pgmt")
	if b, err := exec.Command(explorer, "convert", filepath.Join(dir, "traces", "samples", "multiprocess.txt"), trace).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, b)
	}
	const at = 2500
	shotPath := filepath.Join(out, "desktop-1-at2500.png")
	cmd := exec.Command(gui, "--trace", trace, "--at", "2500", "--va", "0x400000", "--size", "1280x800", "--screenshot", shotPath, "--exit")
	if b, err := runFor(cmd, 60*time.Second); err != nil {
		t.Fatalf("explorer-gui: %v\n%s", err, b)
	}
	data, err := os.ReadFile(shotPath)
	if err != nil {
		t.Fatal(err)
	}
	got := checkNotBlank(t, "desktop-1-at2500.png", data)

	// The same moment, laid out and rasterised headlessly.
	a, err := app.New(app.Options{State: app.State{Source: app.Source{File: trace}, Event: at, VA: 0x400000, HasVA: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	want, err := a.PNG()
	if err != nil {
		t.Fatal(err)
	}
	save(t, out, "desktop-1-expected.png", want)
	wimg, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if d, n := diff(got, wimg); d > n/1000 {
		t.Errorf("the window differs from the PNG renderer in %d of %d pixels of the panels", d, n)
	} else {
		t.Logf("window vs PNG renderer: %d of %d pixels differ", d, n)
	}

	// Playing, seen by the X server.
	live := exec.Command(gui, "--workload", "multiprocess", "--play", "--speed", "2000", "--size", "1280x800", "--for", "4s")
	var report bytes.Buffer
	live.Stderr = &report
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	xshot := filepath.Join(out, "desktop-2-playing.png")
	if b, err := exec.Command("import", "-window", "root", xshot).CombinedOutput(); err != nil {
		t.Errorf("import: %v\n%s", err, b)
	}
	if err := live.Wait(); err != nil {
		t.Errorf("explorer-gui playing: %v\n%s", err, report.String())
	}
	t.Logf("playing under Xvfb: %s", bytes.TrimSpace(report.Bytes()))
	if data, err := os.ReadFile(xshot); err == nil {
		checkNotBlank(t, "desktop-2-playing.png", data)
		t.Logf("screenshot %s", xshot)
	}
}

// diff counts the pixels of want's rectangle that differ in got.
func diff(got, want image.Image) (d, n int) { return diffIn(got, want, want.Bounds()) }

func runFor(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return b.Bytes(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return b.Bytes(), os.ErrDeadlineExceeded
	}
}
