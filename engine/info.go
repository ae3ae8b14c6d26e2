package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The info commands: a text API shared by `explorer info --at N` and the
// UI's console, after the original's debugger commands and info handlers.

// InfoCommand describes one command.
type InfoCommand struct {
	Name, Args, Help string
}

// InfoCommands lists the commands Info understands.
func InfoCommands() []InfoCommand {
	return []InfoCommand{
		{"mode", "[all|guest|shadow|host]", "the guest, shadow and host paging modes"},
		{"ram", "", "the guest physical ranges and their pages by state"},
		{"map", "", "the hypervisor mappings in the guest's address space"},
		{"handlers", "", "the physical access handlers"},
		{"pool", "", "the shadow page pool: size, use, pages by kind"},
		{"stats", "[PREFIX]", "the /PGM statistics that are not zero (under PREFIX)"},
		{"dump", "guest|shadow|intermediate [32bit|pae|amd64]", "a hierarchy as address ranges with merged runs, like Linux's page-table dump"},
		{"sync", "", "force a full resync of the shadow tables now"},
		{"syncalways", "", "toggle a global resync after every event (slow; for debugging)"},
		{"assertcr3", "", "check the shadow tables against the guest's"},
		{"checkintegrity", "", "check the pool, handler and memory bookkeeping"},
	}
}

// Info runs one info command and writes its text to w.
func (s *Shadow) Info(w io.Writer, cmd string, args ...string) error {
	arg := ""
	if len(args) > 0 {
		arg = args[0]
	}
	switch cmd {
	case "mode":
		return s.infoMode(w, arg)
	case "ram":
		return s.infoRAM(w)
	case "map":
		return s.infoMappings(w)
	case "handlers":
		return s.infoHandlers(w)
	case "pool":
		return s.infoPool(w)
	case "stats":
		return s.reg.WriteTree(w, stats.TreeOptions{Prefix: arg, SkipZero: true})
	case "dump":
		if arg == "intermediate" {
			format := ""
			if len(args) > 1 {
				format = args[1]
			}
			return s.infoDumpIntermediate(w, format)
		}
		return s.infoDump(w, arg)
	case "sync":
		s.syncAll()
		_, err := fmt.Fprintln(w, "Forced a full resync of the shadow tables.")
		return err
	case "syncalways":
		s.syncAlways = !s.syncAlways
		state := "Disabled"
		if s.syncAlways {
			state = "Enabled"
		}
		_, err := fmt.Fprintf(w, "%s the global resync after every event.\n", state)
		return err
	case "assertcr3":
		fmt.Fprintln(w, "Checking the shadow tables against the guest's.")
		c := checker{s: s}
		if s.root != nilIdx {
			c.walkShadow()
		}
		c.tlb()
		return report(w, c.errs)
	case "checkintegrity":
		fmt.Fprintln(w, "Checking pool, handler and memory bookkeeping.")
		c := checker{s: s}
		c.bookkeeping()
		return report(w, c.errs)
	}
	return fmt.Errorf("unknown info command %q (try: %s)", cmd, infoNames())
}

func infoNames() string {
	var names []string
	for _, c := range InfoCommands() {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func report(w io.Writer, errs []error) error {
	if len(errs) == 0 {
		_, err := fmt.Fprintln(w, "No problems found.")
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(w, "error: %v\n", e)
	}
	return fmt.Errorf("%d problems found", len(errs))
}

func (s *Shadow) infoMode(w io.Writer, which string) error {
	all := which == "" || which == "all"
	if all || strings.Contains("guest", which) {
		fmt.Fprintf(w, "Guest paging mode:  %v, changed %d times\n", s.format.Mode, s.st.ModeChanges.Value())
		if f := s.regs.Features(); f != "" {
			fmt.Fprintf(w, "Guest features:     %s\n", f)
		}
	}
	if all || strings.Contains("shadow", which) {
		fmt.Fprintf(w, "Shadow paging mode: %v (switcher %v, %v paging)\n", s.shwMode, s.switcher, s.paging)
	}
	if all || strings.Contains("host", which) {
		fmt.Fprintf(w, "Host paging mode:   %v\n", s.cfg.Host)
	}
	return nil
}

func (s *Shadow) infoRAM(w io.Writer) error {
	fmt.Fprintf(w, "%-18s - %-18s %-10s %8s  %s\n", "From", "To (incl)", "Type", "Size", "Pages zero/allocated/shared/ballooned  Name")
	for _, r := range s.mem.Ranges() {
		var n [8]int
		for _, p := range r.Pages {
			n[p.State()]++
		}
		rr := r.Range()
		fmt.Fprintf(w, "0x%016x - 0x%016x %-10v %8s  %d/%d/%d/%d  %s\n", uint64(rr.Start), uint64(rr.Last()), r.Spec.Type,
			phys.FormatSize(rr.Len()), n[phys.StateZero], n[phys.StateAllocated]+n[phys.StateWriteMonitored],
			n[phys.StateShared], n[phys.StateBallooned], r.Spec.Name)
	}
	return nil
}

func (s *Shadow) infoHandlers(w io.Writer) error {
	if len(s.handlers.list) == 0 {
		fmt.Fprintln(w, "No physical handlers are registered.")
	}
	for _, h := range s.handlers.list {
		off := ""
		if len(h.off) > 0 {
			off = fmt.Sprintf(", %d pages off", len(h.off))
		}
		fmt.Fprintf(w, "0x%016x - 0x%016x %-5v %-16q reads %d, writes %d%s\n", uint64(h.Range.Start), uint64(h.Range.Last()),
			h.Type, h.Name, h.Reads, h.Writes, off)
	}
	fmt.Fprintf(w, "%d guest pages are write-monitored because they hold shadowed page tables.\n", len(s.monitors))
	return nil
}

func (s *Shadow) infoPool(w io.Writer) error {
	sum := s.Pool()
	fmt.Fprintf(w, "Pool: %d of %d pages in use (%d allocated, high-water mark %d), %d present PTEs\n",
		sum.Used, sum.Max, sum.Size, sum.UsedHigh, sum.Present)
	kinds := make([]int, 0, len(sum.ByKind))
	for k, n := range sum.ByKind {
		if n > 0 && PoolKind(k) != KindFree {
			kinds = append(kinds, k)
		}
	}
	sort.Slice(kinds, func(i, j int) bool { return sum.ByKind[kinds[i]] > sum.ByKind[kinds[j]] })
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-28v %5d\n", PoolKind(k), sum.ByKind[k])
	}
	return nil
}

// run is one line of a dump: consecutive leaves with the same flags.
type run struct {
	start, end uint64
	flags      string
	level      x86.LevelKind
}

// infoDump prints a hierarchy's leaves as address ranges, merging runs
// of adjacent entries with the same rights, like Linux's page-table dump.
func (s *Shadow) infoDump(w io.Writer, which string) error {
	var cur *run
	var runs []run
	add := func(v EntryView, flags string) {
		start := uint64(v.VA)
		if cur != nil && cur.end == start && cur.flags == flags && cur.level == v.Level {
			cur.end += v.Covers
			return
		}
		runs = append(runs, run{start, start + v.Covers, flags, v.Level})
		cur = &runs[len(runs)-1]
	}
	switch which {
	case "guest":
		fmt.Fprintf(w, "---[ guest: %v, CR3 %#x ]---\n", s.format.Mode, s.regs.CR3)
		s.VisitGuest(1<<20, func(v EntryView) bool {
			if v.Leaf {
				add(v, leafFlags(v.Entry, s.format.NX, false, false))
			}
			return true
		})
	case "shadow":
		fmt.Fprintf(w, "---[ shadow: %v ]---\n", s.shwMode)
		s.VisitShadow(func(v EntryView) bool {
			if v.Leaf {
				add(v, leafFlags(v.Entry, s.shw.NX, v.TrackDirty, v.Stale))
			}
			return true
		})
	default:
		return fmt.Errorf("dump what? want guest, shadow or intermediate")
	}
	for _, r := range runs {
		fmt.Fprintf(w, "0x%016x-0x%016x %8s %s %v\n", r.start, r.end, phys.FormatSize(r.end-r.start), r.flags, r.level)
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "(nothing mapped)")
	}
	return nil
}

func leafFlags(e x86.Entry, nx, track, stale bool) string {
	f := func(on bool, s string) string {
		if on {
			return s
		}
		return strings.Repeat(" ", len(s))
	}
	ro := "ro"
	if e.Writable() {
		ro = "RW"
	}
	return strings.Join([]string{ro, f(e.User(), "USR"), f(e.Global(), "GLB"), f(nx && e.NoExec(), "NX"),
		f(e.Accessed(), "A"), f(e.Dirty(), "D"), f(track, "TRK"), f(stale, "STALE")}, " ")
}

// syncAll resyncs every shadow table with the guest's: the pool is
// dropped and rebuilt on demand (the original's forced SyncCR3).
func (s *Shadow) syncAll() {
	if s.paging == PagingShadow {
		s.flushAll()
	}
	s.tlb.flushAll()
	s.st.TLBFlushesAll.Inc()
	s.syncCR3(true)
}

func (s *Shadow) infoMappings(w io.Writer) error {
	if len(s.maps.list) == 0 {
		_, err := fmt.Fprintln(w, "No hypervisor mappings are registered.")
		return err
	}
	if fixed, r := s.MappingsFixed(); fixed {
		fmt.Fprintf(w, "The mappings are FIXED in %v.\n", r)
	} else {
		fmt.Fprintln(w, "The mappings are FLOATING.")
	}
	for _, m := range s.maps.list {
		r := m.Range()
		fmt.Fprintf(w, "0x%08x - 0x%08x %6s %s\n", uint64(r.Start), uint64(r.Last()), phys.FormatSize(m.Size), m.Name)
	}
	code, hyper := s.SwitcherAddr()
	_, err := fmt.Fprintf(w, "The switcher code (host page %v) runs at %#x in the intermediate context.\n", code, uint64(hyper))
	return err
}

func (s *Shadow) infoDumpIntermediate(w io.Writer, format string) error {
	m := map[string]x86.Mode{"": x86.ModePAE, "32bit": x86.Mode32Bit, "pae": x86.ModePAE, "amd64": x86.ModeAMD64}[format]
	if m == x86.ModeInvalid {
		return fmt.Errorf("dump intermediate: format %q (want 32bit, pae or amd64)", format)
	}
	fmt.Fprintf(w, "---[ intermediate context: %v, root %v (long mode repeats the first 4G in every slot) ]---\n", m, s.IntermediateCR3(m))
	s.VisitIntermediate(m, func(v EntryView) bool {
		if v.Leaf {
			fmt.Fprintf(w, "0x%016x-0x%016x %8s %s %v -> %#x\n", uint64(v.VA), uint64(v.VA)+v.Covers, phys.FormatSize(v.Covers),
				leafFlags(v.Entry, false, false, false), v.Level, uint64(v.Entry)&^0xfff&^(1<<63))
		}
		return true
	})
	return nil
}
