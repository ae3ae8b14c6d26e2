package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/stats"
)

// pgmStats are the engine's statistics handles, named after the original
// engine's /PGM/... tree (RZ is the #PF and sync context; one context
// exists here). Descriptions are ours.
type pgmStats struct {
	ModeChanges *stats.Counter

	Trap0e                                          *stats.Profile
	T2GuestTrap, T2SyncPT, T2OutOfSync, T2DirtyAcc  *stats.Counter
	T2HndPhys, T2HndUnhandled, T2Misc, T2WP         *stats.Counter
	ErrUserNPRead, ErrUserNPWrite, ErrUserWrite     *stats.Counter
	ErrUserReserved, ErrUserNXE, ErrUserRead        *stats.Counter
	ErrSupNPRead, ErrSupNPWrite, ErrSupWrite        *stats.Counter
	ErrSupNXE, ErrSupReserved                       *stats.Counter
	GuestPF, GuestPFUnhandled                       *stats.Counter
	HndPhysical, HndInvalid, HndUnhandled           *stats.Counter
	WPInRZ                                          *stats.Counter
	TrapPD                                          *stats.Family
	OutOfSyncUser, OutOfSyncSuper                   *stats.Counter
	SyncCR3                                         *stats.Profile
	SyncCR3Global, SyncCR3NotGlobal                 *stats.Counter
	DstCacheHit, DstFreed, DstFreedSrcNP            *stats.Counter
	DstNotPresent, DstSkippedGlobalPD, DstSkipGlbPT *stats.Counter
	SyncPT                                          *stats.Profile
	SyncPTFailed, SyncPT4K, SyncPT4M                *stats.Counter
	PDSyncPT, PDSyncPage                            *stats.Family
	SyncPagePDNAs, SyncPagePDOutOfSync              *stats.Counter
	AccessedPage                                    *stats.Counter
	DirtyPage                                       *stats.Profile
	DirtyMark, DirtyMarkBig, DirtySkipped           *stats.Counter
	DirtyTrap, DirtySetDirty, DirtyAlreadySet       *stats.Counter
	DirtyRealPF                                     *stats.Counter
	InvalidatePage                                  *stats.Profile
	Invl4KB, Invl4MB, Invl4MBSkip, InvlPDMappings   *stats.Counter
	InvlPDNAs, InvlPDNPs, InvlPDOutOfSync, InvlSkip *stats.Counter
	FlushTLB                                        *stats.Profile
	NewCR3, NewCR3Global, SameCR3, SameCR3Global    *stats.Counter
	Prefetch                                        *stats.Profile

	TrackVirgin, TrackAliased, TrackAliasedMany *stats.Counter
	TrackAliasedLots, TrackOverflows            *stats.Counter
	TrackDeref                                  *stats.Profile

	PoolAlloc, PoolClearAll, PoolFlushAll, PoolFlushPage, PoolFree *stats.Profile
	CacheHits, CacheMisses, CacheKindMismatches, CacheFreeUpOne    *stats.Counter
	CacheCacheable, CacheUncacheable                               *stats.Counter
	MonitorRZ, MonitorR3                                           *stats.Profile
	MonRZHandled, MonRZFlushPage, MonR3Handled, MonR3FlushPage     *stats.Counter
	PoolFlushGCPhysPT, PoolFlushGCPhysPTs, PoolFlushGCPhysSlow     *stats.Counter
	PoolPhysExtFail, PoolFreeUpOneUser                             *stats.Counter

	TLBHits, TLBMisses, TLBFlushes, TLBFlushesAll, TLBInvlpg *stats.Counter
	ShadowHits                                               *stats.Counter
	NestedWalks, NestedFaults, NestedMemRefs                 *stats.Counter

	// SMEP, SMAP, keys and PCIDs (additions: the original predates them).
	ModernRefused, GuestPFSMEP, GuestPFSMAP, GuestPFKey *stats.Counter
	ACWrites, PKRUWrites                                *stats.Counter
	PCIDNoFlush, PCIDFlush, PCIDLightSync               *stats.Counter
	Invpcid                                             [4]*stats.Counter

	DetectedConflicts, GuestPFInMapping, CR3WriteConflict *stats.Counter
	DirtyPTMarked, DirtyPTResync                          *stats.Counter
	ResolveConflict                                       *stats.Profile
}

// register builds the statistics tree of an engine.
func (s *pgmStats) register(r *stats.Registry) {
	c := func(p **stats.Counter, name, desc string) { *p = r.Counter(name, stats.UnitOccurrences, desc) }
	pr := func(p **stats.Profile, name, desc string) { *p = r.Profile(name, desc) }

	c(&s.ModeChanges, "/PGM/cGuestModeChanges", "Guest paging mode changes.")

	pr(&s.Trap0e, "/PGM/RZ/Trap0e", "Shadow #PF handler: every trap taken on a shadow-table miss.")
	t2 := "/PGM/RZ/Trap0e/Time2/"
	c(&s.T2GuestTrap, t2+"GuestTrap", "Traps that were real guest faults, reflected to the guest.")
	c(&s.T2SyncPT, t2+"SyncPT", "Traps resolved by creating a shadow page table.")
	c(&s.T2OutOfSync, t2+"OutOfSync", "Traps resolved by syncing out-of-sync shadow PTEs.")
	c(&s.T2DirtyAcc, t2+"DirtyAndAccessedBits", "Traps resolved by dirty or accessed bit emulation.")
	c(&s.T2HndPhys, t2+"HandlerPhysical", "Traps on pages with physical access handlers.")
	c(&s.T2HndUnhandled, t2+"HandlerUnhandled", "Traps on handled pages outside any handler's range, emulated.")
	c(&s.T2WP, t2+"WPEmulation", "Supervisor writes to read-only pages emulated because CR0.WP is clear.")
	c(&s.T2Misc, t2+"Misc", "Traps resolved some other way (unbacked memory, MMIO without handler).")
	eu, es := "/PGM/RZ/Trap0e/Err/User/", "/PGM/RZ/Trap0e/Err/Supervisor/"
	c(&s.ErrUserNPRead, eu+"NPRead", "User reads of not-present shadow pages.")
	c(&s.ErrUserNPWrite, eu+"NPWrite", "User writes to not-present shadow pages.")
	c(&s.ErrUserWrite, eu+"Write", "User writes to read-only shadow pages.")
	c(&s.ErrUserReserved, eu+"Reserved", "User accesses with reserved bits in a shadow entry.")
	c(&s.ErrUserNXE, eu+"NXE", "User fetches from no-execute shadow pages.")
	c(&s.ErrUserRead, eu+"Read", "User reads of present shadow pages that still trapped.")
	c(&s.ErrSupNPRead, es+"NPRead", "Supervisor reads of not-present shadow pages.")
	c(&s.ErrSupNPWrite, es+"NPWrite", "Supervisor writes to not-present shadow pages.")
	c(&s.ErrSupWrite, es+"Write", "Supervisor writes to read-only shadow pages.")
	c(&s.ErrSupNXE, es+"NXE", "Supervisor fetches from no-execute shadow pages.")
	c(&s.ErrSupReserved, es+"Reserved", "Supervisor accesses with reserved bits in a shadow entry.")
	c(&s.GuestPF, "/PGM/RZ/Trap0e/GuestPF", "Page faults delivered to the guest.")
	c(&s.GuestPFUnhandled, "/PGM/RZ/Trap0e/GuestPF/Unhandled", "Guest faults found by the guest-table check.")
	c(&s.HndPhysical, "/PGM/RZ/Trap0e/Handlers/Physical", "Traps handed to a physical access handler.")
	c(&s.HndInvalid, "/PGM/RZ/Trap0e/Handlers/Invalid", "Traps on guest physical addresses with no RAM (emulated).")
	c(&s.HndUnhandled, "/PGM/RZ/Trap0e/Handlers/Unhandled", "Traps on monitored pages that no handler claimed (emulated).")
	c(&s.WPInRZ, "/PGM/RZ/Trap0e/WP/InRZ", "CR0.WP=0 supervisor writes emulated in the trap handler.")
	s.TrapPD = r.CounterFamily("/PGM/RZ/Trap0e/PD/%04X", stats.UnitOccurrences, "Traps per shadow page-directory index.", pdFamily)
	c(&s.OutOfSyncUser, "/PGM/RZ/OutOfSync/User", "Not-present traps on user pages fixed by SyncPage.")
	c(&s.OutOfSyncSuper, "/PGM/RZ/OutOfSync/SuperVisor", "Not-present traps on supervisor pages fixed by SyncPage.")

	pr(&s.SyncCR3, "/PGM/RZ/SyncCR3", "Shadow root checks after CR3 loads.")
	c(&s.SyncCR3Global, "/PGM/RZ/SyncCR3/Global", "Global SyncCR3 runs.")
	c(&s.SyncCR3NotGlobal, "/PGM/RZ/SyncCR3/NotGlobal", "Non-global SyncCR3 runs.")
	c(&s.DstCacheHit, "/PGM/RZ/SyncCR3/DstChacheHit", "Shadow PDEs kept because their table still matches (name as in the original).")
	c(&s.DstFreed, "/PGM/RZ/SyncCR3/DstFreed", "Shadow PDEs freed because they no longer match the guest.")
	c(&s.DstFreedSrcNP, "/PGM/RZ/SyncCR3/DstFreedSrcNP", "Shadow PDEs freed because the guest PDE is not present.")
	c(&s.DstNotPresent, "/PGM/RZ/SyncCR3/DstNotPresent", "Shadow PDEs that were not present.")
	c(&s.DstSkippedGlobalPD, "/PGM/RZ/SyncCR3/DstSkippedGlobalPD", "Shadow PDEs of global big pages kept on a non-global sync.")
	c(&s.DstSkipGlbPT, "/PGM/RZ/SyncCR3/DstSkippedGlobalPT", "Shadow PDEs of all-global page tables kept on a non-global sync.")

	pr(&s.SyncPT, "/PGM/RZ/SyncPT", "Shadow page table creation.")
	c(&s.SyncPTFailed, "/PGM/RZ/SyncPT/Failed", "Shadow page table creations that failed.")
	c(&s.SyncPT4K, "/PGM/RZ/SyncPT/4K", "Shadow page tables created for guest page tables.")
	c(&s.SyncPT4M, "/PGM/RZ/SyncPT/4M", "Shadow page tables created for guest big pages.")
	s.PDSyncPT = r.CounterFamily("/PGM/PDSyncPT/%04X", stats.UnitOccurrences, "SyncPT calls per shadow page-directory index.", pdFamily)
	s.PDSyncPage = r.CounterFamily("/PGM/PDSyncPage/%04X", stats.UnitOccurrences, "SyncPage calls per shadow page-directory index.", pdFamily)
	c(&s.SyncPagePDNAs, "/PGM/RZ/SyncPagePDNAs", "Shadow page tables dropped because the guest PDE is not accessed.")
	c(&s.SyncPagePDOutOfSync, "/PGM/RZ/SyncPagePDOutOfSync", "Shadow page tables dropped because the guest PDE changed.")
	c(&s.AccessedPage, "/PGM/RZ/AccessedPage", "Shadow PTEs left not present to emulate the accessed bit.")
	pr(&s.DirtyPage, "/PGM/RZ/DirtyPage", "Dirty and accessed bit handling in the trap handler.")
	c(&s.DirtyMark, "/PGM/RZ/DirtyPage/Mark", "Shadow PTEs made read-only to track the dirty bit.")
	c(&s.DirtyMarkBig, "/PGM/RZ/DirtyPage/MarkBig", "Shadow PDEs made read-only to track a big page's dirty bit.")
	c(&s.DirtySkipped, "/PGM/RZ/DirtyPage/Skipped", "Shadow PTEs copied without dirty tracking.")
	c(&s.DirtyTrap, "/PGM/RZ/DirtyPage/Trap", "Writes that hit a dirty-tracked page.")
	c(&s.DirtySetDirty, "/PGM/RZ/DirtyPage/SetDirty", "Guest dirty bits set by the trap handler.")
	c(&s.DirtyAlreadySet, "/PGM/RZ/DirtyPage/AlreadySet", "Write traps where the guest dirty bit was already set.")
	c(&s.DirtyRealPF, "/PGM/RZ/DirtyPage/RealPF", "Traps the guest-table check found to be real guest faults.")

	pr(&s.InvalidatePage, "/PGM/RZ/InvalidatePage", "invlpg handling.")
	iv := "/PGM/RZ/InvalidatePage/"
	c(&s.Invl4KB, iv+"4KBPages", "invlpg of a 4 KiB page: its shadow PTE resynced.")
	c(&s.Invl4MB, iv+"4MBPages", "invlpg of a big page whose shadow table was dropped.")
	c(&s.Invl4MBSkip, iv+"4MBPagesSkip", "invlpg of a big page that had not changed.")
	c(&s.InvlPDMappings, iv+"PDMappings", "invlpg inside a hypervisor mapping.")
	c(&s.InvlPDNAs, iv+"PDNAs", "invlpg where the guest PDE is not accessed: shadow table dropped.")
	c(&s.InvlPDNPs, iv+"PDNPs", "invlpg where the guest PDE is not present: shadow table dropped.")
	c(&s.InvlPDOutOfSync, iv+"PDOutOfSync", "invlpg where the shadow PDE no longer matches: dropped.")
	c(&s.InvlSkip, iv+"Skipped", "invlpg with nothing shadowed at that address.")
	pr(&s.FlushTLB, "/PGM/RZ/FlushTLB", "CR3 loads.")
	c(&s.NewCR3, "/PGM/RZ/FlushTLB/NewCR3", "CR3 loads of a new value, global pages kept.")
	c(&s.NewCR3Global, "/PGM/RZ/FlushTLB/NewCR3Global", "CR3 loads of a new value, global pages flushed.")
	c(&s.SameCR3, "/PGM/RZ/FlushTLB/SameCR3", "CR3 reloads of the same value, global pages kept.")
	c(&s.SameCR3Global, "/PGM/RZ/FlushTLB/SameCR3Global", "CR3 reloads of the same value, global pages flushed.")
	pr(&s.Prefetch, "/PGM/RZ/Prefetch", "Page prefetches.")

	c(&s.TrackVirgin, "/PGM/Track/Virgin", "Guest pages shadowed for the first time.")
	c(&s.TrackAliased, "/PGM/Track/Aliased", "Guest pages that became mapped by a second shadow page table.")
	c(&s.TrackAliasedMany, "/PGM/Track/AliasedMany", "Shadow page tables added to a page's extent list.")
	c(&s.TrackAliasedLots, "/PGM/Track/AliasedLots", "References to pages whose extent list had overflowed.")
	c(&s.TrackOverflows, "/PGM/Track/Overflows", "Extent lists that grew too long and were abandoned.")
	pr(&s.TrackDeref, "/PGM/Track/Deref", "Dropping a shadow PTE's reference to a guest page.")

	pr(&s.PoolAlloc, "/PGM/Pool/Alloc", "Pool page allocations.")
	pr(&s.PoolClearAll, "/PGM/Pool/ClearAll", "Lightweight pool clears (page tables emptied).")
	pr(&s.PoolFlushAll, "/PGM/Pool/FlushAllInt", "Whole-pool flushes.")
	pr(&s.PoolFlushPage, "/PGM/Pool/FlushPage", "Single pool page flushes.")
	pr(&s.PoolFree, "/PGM/Pool/Free", "User references dropped from pool pages.")
	c(&s.CacheHits, "/PGM/Pool/Cache/Hits", "Allocations answered from the cache.")
	c(&s.CacheMisses, "/PGM/Pool/Cache/Misses", "Allocations that needed a fresh page.")
	c(&s.CacheKindMismatches, "/PGM/Pool/Cache/KindMismatches", "Cache lookups that found the guest page cached under another kind.")
	c(&s.CacheFreeUpOne, "/PGM/Pool/Cache/FreeUpOne", "Least-recently-used pages evicted to make room.")
	c(&s.CacheCacheable, "/PGM/Pool/Cache/Cacheable", "Pages entered in the cache.")
	c(&s.CacheUncacheable, "/PGM/Pool/Cache/Uncacheable", "Pages that could not be cached.")
	pr(&s.MonitorRZ, "/PGM/Pool/Monitor/RZ", "Guest writes to monitored page tables, from instructions.")
	c(&s.MonRZHandled, "/PGM/Pool/Monitor/RZ/Handled", "Monitored guest writes applied entry by entry.")
	c(&s.MonRZFlushPage, "/PGM/Pool/Monitor/RZ/FlushPage", "Monitored guest writes that flushed the shadow pages.")
	pr(&s.MonitorR3, "/PGM/Pool/Monitor/R3", "Writes to monitored page tables from loaders and DMA.")
	c(&s.MonR3Handled, "/PGM/Pool/Monitor/R3/Handled", "Loader or DMA writes applied entry by entry.")
	c(&s.MonR3FlushPage, "/PGM/Pool/Monitor/R3/FlushPage", "Loader or DMA writes that flushed the shadow pages.")
	c(&s.PoolFlushGCPhysPT, "/PGM/Pool/Track/FlushGCPhysPT", "Guest pages unmapped from the one shadow table that maps them.")
	c(&s.PoolFlushGCPhysPTs, "/PGM/Pool/Track/FlushGCPhysPTs", "Guest pages unmapped through their extent list.")
	c(&s.PoolFlushGCPhysSlow, "/PGM/Pool/Track/FlushGCPhysPTsSlow", "Guest pages unmapped by scanning every shadow page table.")
	c(&s.PoolPhysExtFail, "/PGM/Pool/Track/PhysExtAllocFailures", "Extent allocations that failed.")
	c(&s.PoolFreeUpOneUser, "/PGM/Pool/Track/FreeUpOneUser", "Pages evicted to free a user record.")

	c(&s.TLBHits, "/PGM/TLB/Hits", "Accesses translated by the software TLB.")
	c(&s.TLBMisses, "/PGM/TLB/Misses", "Accesses the software TLB could not translate.")
	c(&s.TLBFlushes, "/PGM/TLB/Flushes", "Non-global TLB flushes.")
	c(&s.TLBFlushesAll, "/PGM/TLB/FlushesAll", "TLB flushes including global entries.")
	c(&s.TLBInvlpg, "/PGM/TLB/Invlpg", "Single TLB entries invalidated.")
	c(&s.ShadowHits, "/PGM/Shadow/Hits", "TLB misses translated by walking the shadow tables.")
	c(&s.NestedWalks, "/PGM/Nested/Walks", "Two-dimensional walks (nested paging).")
	c(&s.NestedFaults, "/PGM/Nested/Faults", "Nested page faults (a missing nested entry).")
	c(&s.NestedMemRefs, "/PGM/Nested/MemRefs", "Memory references made by two-dimensional walks.")
	c(&s.DetectedConflicts, "/PGM/R3/DetectedConflicts", "Guest page tables found where a floating hypervisor mapping was.")
	pr(&s.ResolveConflict, "/PGM/R3/ResolveConflict", "Moving a hypervisor mapping out of the guest's way.")
	c(&s.GuestPFInMapping, "/PGM/RZ/Trap0e/GuestPF/InMapping", "Guest faults inside a hypervisor mapping.")
	c(&s.CR3WriteConflict, "/PGM/RZ/CR3WriteConflict", "Guest page-directory writes at a hypervisor mapping's place.")
	c(&s.DirtyPTMarked, "/PGM/Pool/DirtyPT/Marked", "Busy guest page tables left unmonitored until the next CR3 load.")
	c(&s.DirtyPTResync, "/PGM/Pool/DirtyPT/Resync", "Dirty page tables compared with their copy and monitored again.")

	c(&s.ModernRefused, "/PGM/RZ/Trap0e/ModernRights", "TLB or shadow hits refused by SMEP, SMAP or a protection key at the current CPL, AC and PKRU: the access trapped.")
	c(&s.GuestPFSMEP, "/PGM/RZ/Trap0e/GuestPF/SMEP", "Guest faults refused by SMEP (supervisor fetch from a user page).")
	c(&s.GuestPFSMAP, "/PGM/RZ/Trap0e/GuestPF/SMAP", "Guest faults refused by SMAP (supervisor data access to a user page with AC=0).")
	c(&s.GuestPFKey, "/PGM/RZ/Trap0e/GuestPF/PKey", "Guest faults with PK set (a protection key refused the access).")
	c(&s.ACWrites, "/PGM/Rights/ACWrites", "ac events: the rights are recomputed, nothing is flushed or resynced.")
	c(&s.PKRUWrites, "/PGM/Rights/PKRUWrites", "pkru events: the rights are recomputed, nothing is flushed or resynced.")
	c(&s.PCIDNoFlush, "/PGM/PCID/NoFlushLoads", "CR3 loads with bit 63 (PCIDE=1): every PCID's TLB entries and the dirty page tables kept.")
	c(&s.PCIDFlush, "/PGM/PCID/FlushLoads", "CR3 loads with PCIDE=1 and no bit 63: the new PCID's non-global TLB entries flushed.")
	c(&s.PCIDLightSync, "/PGM/PCID/LightSyncs", "Root switches of CR3 loads with bit 63: the root found or made, mappings checked, no SyncCR3.")
	for i := range s.Invpcid {
		c(&s.Invpcid[i], fmt.Sprintf("/PGM/PCID/Invpcid/Type%d", i), fmt.Sprintf("INVPCID type %d events.", i))
	}
}

// pdFamily is the size of the per-PD-index families: a shadow page
// directory has at most 1024 entries (32-bit; PAE and long mode 512).
const pdFamily = 1024
