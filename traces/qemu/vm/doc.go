// Package vm boots a small QEMU guest for the linux-guest target and the
// tests that check the explorer against QEMU itself. Everything stays on
// the machine: the monitor is a Unix socket in the guest's directory, the
// gdbstub listens on 127.0.0.1 only, the guest has no network card, and
// every wait is bounded. Only the archive writer builds for the browser.
package vm
