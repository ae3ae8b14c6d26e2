// Package qemu opens real guests: a QEMU or KVM virtual machine's memory
// as an ELF core (HMP dump-guest-memory, `virsh dump --memory-only`), and
// (package gdb beside it) a running guest through QEMU's gdbstub.
//
// A snapshot becomes a trace that rebuilds the guest's address space in
// the engine: the RAM ranges of the core's PT_LOAD segments, the page
// tables reachable from a vCPU's CR3 written as physical writes (only
// the table pages, and the 8 bytes under each address the trace reads,
// never the whole memory), the vCPU's control registers, then reads that
// make the picture useful: one per mapped region (or every present leaf,
// or a user's list), the instruction at RIP and the stack at RSP.
//
// What a core does not hold is inferred and recorded in the trace's
// metadata: EFER.LME from the mode (CR0.PG, CR4.PAE and CS.L, or a core
// QEMU wrote as EM_X86_64), EFER.NXE from bit 63 in present entries
// (Options.NXE overrides it). PKRU is not in a core either.
//
// The reader follows Go's debug/elf habits for hostile input: magic and
// class first, every count and length checked against a cap and the
// file's size before anything is allocated, errors that name the byte
// offset (*FormatError) and match sentinels (ErrNotELF, ErrNoCPUNote,
// ErrNoteVersion, ...). Memory stays bounded by the file's size and the
// caps, whatever the file claims.
//
// Importing the package registers the core with traces.RegisterImporter,
// so that every command that opens a trace opens a core.
package qemu
