// Package phys models guest physical memory: RAM, ROM, MMIO and device
// RAM ranges, a compact per-page descriptor, simulated host frames handed
// out in 1 MiB allocation chunks, the shared zero page, copy-on-write page
// sharing, ballooning, the chunk mapping cache with its lookaside TLBs, and
// frozen pages (a snapshot's view of a frame, copied only when the frame
// is written next).
//
// Guest memory is real bytes; host memory is simulated: host physical
// addresses come from this package's allocator and untouched RAM costs
// nothing but its 8-byte descriptor. The package is single-threaded, like
// the emulation thread it serves.
//
// Callers may rely on: the same calls giving the same frames, states and
// counters (no randomness, no dependence on map order); every change of a
// page's frame or state being reported to the observer; no panic on any
// argument (bad ones give errors, or all-ones reads and dropped writes
// where the x86 bus would); and Memory.Check finding any broken invariant.
package phys

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// PageType is what a guest physical page is. The numbers are stored in
// saved states: changing one is a format change. RAM is 0 so that a fresh
// descriptor array needs no initialisation.
type PageType uint8

const (
	TypeRAM       PageType = 0 // read, write, execute
	TypeMMIO2     PageType = 1 // device RAM (e.g. VRAM): RAM-like
	TypeROMShadow PageType = 2 // a writable copy of ROM
	TypeROM       PageType = 3 // reads work, every write is dropped
	TypeMMIO      PageType = 4 // every access goes to the MMIO handler
	TypeReserved  PageType = 5 // reads zeros, writes dropped
	typeMax       PageType = 6
)

var typeNames = [typeMax]string{"RAM", "MMIO2", "ROM-shadow", "ROM", "MMIO", "reserved"}

func (t PageType) String() string {
	if t < typeMax {
		return typeNames[t]
	}
	return fmt.Sprintf("PageType(%d)", uint8(t))
}

// PageState is how a RAM page is backed. Stored in saved states.
type PageState uint8

const (
	StateZero           PageState = 0 // backed by the shared zero page, never mapped writable
	StateAllocated      PageState = 1 // a private host page
	StateWriteMonitored PageState = 2 // private, mapped read-only until the first write
	StateShared         PageState = 3 // a copy-on-write page shared with identical pages
	StateBallooned      PageState = 4 // handed back to the host by the guest's balloon
	stateMax            PageState = 5
)

var stateNames = [stateMax]string{"zero", "allocated", "write-monitored", "shared", "ballooned"}

func (s PageState) String() string {
	if s < stateMax {
		return stateNames[s]
	}
	return fmt.Sprintf("PageState(%d)", uint8(s))
}

// HandlerState is the access-handler state of a page, ordered so that the
// maximum over all handlers covering a page is the page's state.
type HandlerState uint8

const (
	HandlerNone     HandlerState = 0
	HandlerDisabled HandlerState = 1 // temporarily off
	HandlerWrite    HandlerState = 2 // writes trap
	HandlerAll      HandlerState = 3 // every access traps
)

var handlerNames = [...]string{"none", "disabled", "write", "all"}

func (h HandlerState) String() string {
	if int(h) < len(handlerNames) {
		return handlerNames[h]
	}
	return fmt.Sprintf("HandlerState(%d)", uint8(h))
}

// Active reports whether accesses to the page must trap.
func (h HandlerState) Active() bool { return h >= HandlerWrite }

// RangeSpec describes one guest physical range as a trace header or a
// configuration declares it.
type RangeSpec struct {
	Type  PageType
	Start x86.GPA
	Size  uint64
	Name  string
}

// Limits that protect against absurd configurations.
const (
	// MaxGuestBytes bounds the sum of all range sizes. Descriptors cost 8
	// bytes per page, so this is at most 128 MiB of descriptors.
	MaxGuestBytes uint64 = 64 << 30
	// MaxRanges bounds the number of ranges.
	MaxRanges = 4096
)
