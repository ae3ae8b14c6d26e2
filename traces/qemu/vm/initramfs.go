//go:build !js

package vm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Initramfs describes the linux-guest initial root file system.
type Initramfs struct {
	Busybox string // a static busybox, e.g. /bin/busybox from busybox-static
	Init    string // the init script (guest/init)
	Source  string // memproc.c, built with gcc -static
	Module  string // a kernel module with no dependencies (crc7.ko), or ""
	Work    string // a directory for the built program
}

// Build writes the archive to out (through a temporary file and a
// rename, so that an interrupted build leaves no half archive behind).
func (in Initramfs) Build(ctx context.Context, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	prog := filepath.Join(in.Work, "memproc")
	cc := exec.CommandContext(ctx, "gcc", "-static", "-O1", "-o", prog, in.Source)
	if b, err := cc.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc -static %s: %v\n%s", in.Source, err, b)
	}
	files := []CPIOFile{
		{Name: "bin", Mode: ModeDir | 0o755},
		{Name: "dev", Mode: ModeDir | 0o755},
		{Name: "dev/console", Mode: ModeChar | 0o600, RdevMajor: 5, RdevMinor: 1},
		{Name: "proc", Mode: ModeDir | 0o755},
		{Name: "sys", Mode: ModeDir | 0o755},
		{Name: "tmp", Mode: ModeDir | 0o1777},
	}
	add := func(name, path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, CPIOFile{Name: name, Mode: ModeFile | 0o755, Data: b})
		return nil
	}
	for _, f := range [][2]string{{"bin/busybox", in.Busybox}, {"init", in.Init}, {"memproc", prog}} {
		if err := add(f[0], f[1]); err != nil {
			return err
		}
	}
	if in.Module != "" {
		if err := add(filepath.Base(in.Module), in.Module); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := WriteCPIO(&buf, files); err != nil {
		return err
	}
	return WriteFileAtomic(out, buf.Bytes())
}

// WriteFileAtomic writes b to a temporary file beside path and renames
// it: a reader sees the old file or the new one, never half of one.
func WriteFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
