//go:build !js

// Command mklinux is the Go half of `make linux-guest`: with the Debian
// kernel already unpacked into the cache (the Makefile does the apt part),
// it builds the initramfs, boots the guest once per CPU configuration,
// waits for the init script's marker, stops the vCPU in a user process,
// and keeps what the tests compare the explorer with: the ELF core of
// dump-guest-memory, `info registers`, `info tlb`, `info mem` and a
// sample of `gva2gpa` answers, and the trace of a short gdbstub session
// (attach.txt). A configuration whose files are there and
// were made from the same kernel and initramfs is not booted again.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/traces/qemu/vm"
)

// config is one guest CPU: its directory under the cache and -cpu.
type config struct {
	name string
	cpu  string
}

// The 4-level guest has no SMEP, SMAP or protection keys (the paging
// of PCs before them); the 5-level one has all QEMU's TCG offers: LA57,
// SMEP, SMAP, PKU (but not PCID, which TCG 7.2 lacks).
var configs = []config{
	{"4level", "max,-smep,-smap,-pku,la57=off"},
	{"5level", "max,la57=on"},
}

// layout names what a configuration's directory holds; a new file in
// it (attach.txt came second) makes the old directories stale.
const layout = "v3" // v3: stopped in a memproc process, not the shell

// Marker is what guest/init prints once its processes run.
const Marker = "PGM-GUEST-READY"

func main() {
	cache := flag.String("cache", ".cache/linux", "the cache directory (kernel/ unpacked there by the Makefile)")
	src := flag.String("src", "traces/qemu/vm/guest", "init and memproc.c")
	only := flag.String("config", "", "only this configuration")
	flag.Parse()
	if err := run(*cache, *src, *only); err != nil {
		fmt.Fprintln(os.Stderr, "mklinux:", err)
		os.Exit(1)
	}
}

func run(cache, src, only string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	kernel, module, err := findKernel(filepath.Join(cache, "kernel"))
	if err != nil {
		return err
	}
	initrd := filepath.Join(cache, "initramfs.cpio")
	in := vm.Initramfs{Busybox: "/bin/busybox", Init: filepath.Join(src, "init"),
		Source: filepath.Join(src, "memproc.c"), Module: module, Work: cache}
	key, err := digest(kernel, in.Busybox, in.Init, in.Source)
	if err != nil {
		return err
	}
	if !fresh(initrd+".key", key) {
		if err := in.Build(ctx, initrd); err != nil {
			return err
		}
		if err := vm.WriteFileAtomic(initrd+".key", []byte(key)); err != nil {
			return err
		}
		fmt.Printf("linux-guest: built %s\n", initrd)
	}
	for _, c := range configs {
		if only != "" && c.name != only {
			continue
		}
		dir := filepath.Join(cache, c.name)
		ckey := key + " " + c.cpu + " " + layout
		if fresh(filepath.Join(dir, "done"), ckey) {
			fmt.Printf("linux-guest: %s is up to date\n", dir)
			continue
		}
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		t0 := time.Now()
		port, err := vm.FreePort()
		if err != nil {
			return err
		}
		if err := snapshot(ctx, vm.Options{Kernel: kernel, Initrd: initrd, CPU: c.cpu, Dir: dir,
			Append: "nokaslr quiet", GDBPort: port}, dir); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if err := vm.WriteFileAtomic(filepath.Join(dir, "done"), []byte(ckey)); err != nil {
			return err
		}
		fmt.Printf("linux-guest: %s in %.1fs\n", dir, time.Since(t0).Seconds())
	}
	return nil
}

// findKernel finds boot/vmlinuz-* and the crc7 module in an unpacked
// linux-image package.
func findKernel(dir string) (kernel, module string, err error) {
	k, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(k) != 1 {
		return "", "", fmt.Errorf("want one %s/boot/vmlinuz-* (found %d): run `make linux-guest`", dir, len(k))
	}
	m, _ := filepath.Glob(filepath.Join(dir, "lib", "modules", "*", "kernel", "lib", "crc7.ko"))
	if len(m) == 1 {
		module = m[0]
	}
	return k[0], module, nil
}

// digest names the inputs: their paths, sizes and times would do, but
// a hash of the small ones and the kernel's size is as cheap and exact.
func digest(kernel string, small ...string) (string, error) {
	h := sha256.New()
	st, err := os.Stat(kernel)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s %d\n", filepath.Base(kernel), st.Size())
	for _, p := range small {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		io.Copy(h, f)
		f.Close()
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func fresh(stamp, key string) bool {
	b, err := os.ReadFile(stamp)
	return err == nil && strings.TrimSpace(string(b)) == key
}
