package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	dir := t.TempDir()
	conflict := "../../traces/samples/mapping-conflict.txt"
	tests := []struct {
		name string
		args []string // the output file is appended
		w, h int
	}{
		{"defaults", []string{sampleTrace}, 1280, 800},
		{"flags after the file", []string{sampleTrace, "--at", "40", "--view", "walk", "--size", "1024x640"}, 1024, 640},
		{"label", []string{"--at", "the guest maps the missing page and retries", "--view=hierarchy", "--size=1024x640", sampleTrace}, 1024, 640},
		{"address", []string{"--va", "0x7004", "--view", "walk", "--size", "1024X640", sampleTrace}, 1024, 640},
		{"nested", []string{"--paging", "nested", "--host", "pae", "--view", "walk", "--size", "1024x640", sampleTrace}, 1024, 640},
		{"intermediate", []string{"--view", "intermediate", "--size", "1024x640", conflict}, 1024, 640},
		{"memory", []string{"--view", "memory", "--pool", "64", "--size", "1024x640", conflict}, 1024, 640},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // PNG encoding dominates; it runs in parallel
			out := filepath.Join(dir, tc.name+".png")
			args := append([]string{"render"}, tc.args...)
			if i%2 == 0 {
				args = append(args, "-o", out)
			} else {
				args = append(args[:1], append([]string{"-o", out}, args[1:]...)...)
			}
			code, stdout, stderr := explorer(t, args...)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := png.DecodeConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != tc.w || cfg.Height != tc.h {
				t.Errorf("picture is %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.w, tc.h)
			}
		})
	}

	t.Run("stdout", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := explorer(t, "render", "--size", "1024x640", "-o", "-", sampleTrace)
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if _, err := png.DecodeConfig(bytes.NewReader([]byte(stdout))); err != nil {
			t.Errorf("standard output is not a PNG: %v", err)
		}
	})
}

func TestRenderErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.png")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render", sampleTrace}, 2, "want -o OUT.png"},
		{[]string{"render", "-o", out}, 2, "want exactly one trace FILE, got 0"},
		{[]string{"render", "-o", out, sampleTrace, sampleTrace}, 2, "want exactly one trace FILE, got 2"},
		{[]string{"render", "-o", out, "--size", "800x600", sampleTrace}, 2, "--size 800x600 outside 1024x640 .. 3840x2160"},
		{[]string{"render", "-o", out, "--size", "big", sampleTrace}, 2, `--size "big": want WIDTHxHEIGHT`},
		{[]string{"render", "-o", out, "--size", "1280x", sampleTrace}, 2, "want WIDTHxHEIGHT"},
		{[]string{"render", "-o", out, "--view", "pool", sampleTrace}, 2, `unknown view "pool" (want overview, hierarchy, memory, walk, intermediate)`},
		{[]string{"render", "-o", out, "--va", "0xzz", sampleTrace}, 2, `--va "0xzz": not an address`},
		{[]string{"render", "-o", out, "--at", "40", "--va", "0x100000000", sampleTrace}, 2, "--va 0x100000000: beyond the 4 GiB linear space"},
		{[]string{"render", "-o", out, "--engine", "ref", sampleTrace}, 2, "--engine ref cannot be drawn"},
		{[]string{"render", "-o", out, "--host", "z80", sampleTrace}, 2, "z80"},
		{[]string{"render", "-o", out, "--at", "9999", sampleTrace}, 1, "--at 9999: the trace ends after 75 events"},
		{[]string{"render", "-o", out, "--at", "no such moment", sampleTrace}, 1, `--at "no such moment": no such label`},
		{[]string{"render", "-o", out, "testdata/unknown-line.txt"}, 1, "testdata/unknown-line.txt:4:"},
		{[]string{"render", "-o", out, "no/such/trace.txt"}, 1, "no such file"},
		{[]string{"render", "-o", filepath.Join(out, "sub", "x.png"), sampleTrace}, 1, "out.png/sub/x.png"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, stdout, stderr := explorer(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed render left %s behind", out)
	}
}

func TestHelpRender(t *testing.T) {
	code, out, _ := explorer(t, "help", "render")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Usage: explorer render [flags] FILE -o OUT.png", "-at", "-view", "-va", "-size", "-paging", "intermediate", "memory"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
