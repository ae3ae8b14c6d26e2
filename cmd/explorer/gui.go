package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// The desktop window is the separate program explorer-gui: Ebiten needs
// cgo, the X11 and GL headers to build and a display to start, and none
// of the headless commands should. `explorer gui` runs it from the
// directory explorer itself was started from.

func init() {
	register(&command{
		name:    "gui",
		summary: "open the interactive explorer in a window (runs explorer-gui; see 'explorer gui -h')",
		usage:   "[explorer-gui flags] [TRACE]",
		flags: func(*flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func([]string, io.Writer, io.Writer) error { return nil }
		},
	})
}

// guiPath is where explorer-gui should be: beside this program.
func guiPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	name := "explorer-gui"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(exe), name), nil
}

// hasDisplay reports whether a window could open.
func hasDisplay() bool {
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" || runtime.GOOS == "windows" || runtime.GOOS == "darwin"
}

// errNoGUI says how to get the desktop program.
var errNoGUI = errors.New("explorer-gui is not installed next to explorer")

// runGUI runs explorer-gui with args, passing the terminal through, and
// returns its exit status.
func runGUI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p, err := guiPath()
	if err == nil {
		_, err = os.Stat(p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "explorer gui: %v (%s)\n"+
			"build it with `make gui` (it needs cgo and the X11/GL headers: apt-get install gcc libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev),\n"+
			"or by hand: go build -o %s ./cmd/explorer-gui\n", errNoGUI, p, p)
		return 1
	}
	if !hasDisplay() {
		// explorer-gui would die in Ebiten's initialisation, before its
		// own code could say why.
		fmt.Fprintln(stderr, "explorer gui: no display (DISPLAY is not set): run it in a desktop session, or under `xvfb-run -a`; the browser demo needs none (`explorer serve`)")
		return 1
	}
	cmd := exec.Command(p, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "explorer gui: %v\n", err)
		return 1
	}
	return 0
}

// guiByDefault reports whether `explorer` with no arguments should open
// the window: a display is there and so is explorer-gui.
func guiByDefault() bool {
	if !hasDisplay() {
		return false
	}
	p, err := guiPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}
