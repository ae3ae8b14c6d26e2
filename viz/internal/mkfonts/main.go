// Command mkfonts writes the fonts viz embeds (viz/fonts): the Go fonts
// of golang.org/x/image without their TrueType hinting programs, which
// the renderer does not run (sfnt rounds to whole pixels itself) and
// which made up over half of their bytes in the browser download. Every
// glyph, its outline, metrics and the name table with its copyright stay
// as they are; viz's TestEmbeddedFonts checks that against the originals.
//
// It runs Debian's fontTools (apt-get install python3-fonttools), as
// `make fonts` does:
//
//	go run ./viz/internal/mkfonts -o viz/fonts
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

func main() {
	out := flag.String("o", "viz/fonts", "the directory to write the fonts into")
	python := flag.String("python", "/usr/bin/python3", "a Python with fontTools")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "mkfonts")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	for name, ttf := range map[string][]byte{"goregular": goregular.TTF, "gomono": gomono.TTF, "gobold": gobold.TTF} {
		src := filepath.Join(tmp, name+".ttf")
		if err := os.WriteFile(src, ttf, 0o644); err != nil {
			fail(err)
		}
		// Written beside the final name and renamed, so that a failed run
		// leaves the committed fonts as they were.
		part := filepath.Join(*out, "."+name+".ttf.part")
		cmd := exec.Command(*python, "-m", "fontTools.subset", src,
			"--unicodes=*", "--glyphs=*", "--no-hinting", "--notdef-outline", "--notdef-glyph",
			"--name-IDs=*", "--name-languages=*", "--name-legacy", "--layout-features=*", "--no-glyph-names",
			"--output-file="+part)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Remove(part)
			fail(fmt.Errorf("%s: fontTools.subset: %v (apt-get install python3-fonttools)", name, err))
		}
		if err := os.Rename(part, filepath.Join(*out, name+".ttf")); err != nil {
			fail(err)
		}
		st, _ := os.Stat(filepath.Join(*out, name+".ttf"))
		fmt.Printf("%s.ttf: %d bytes (was %d)\n", name, st.Size(), len(ttf))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkfonts:", err)
	os.Exit(1)
}
