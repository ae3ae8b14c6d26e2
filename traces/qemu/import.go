package qemu

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// firmwareTop: QEMU's PC firmware (the BIOS flash) ends at 4 GiB. A
// segment ending there is the firmware and becomes ROM; every other
// segment is RAM (device memory such as VGA's included: a core does not
// say which is which, and a RAM range costs nothing until written).
const firmwareTop = 1 << 32

// Ranges are the guest-physical ranges of the core's PT_LOAD segments,
// as trace ranges: adjacent segments merged, named ram0, ram1, ... and
// firmware.
func (c *Core) Ranges() []phys.RangeSpec {
	var out []phys.RangeSpec
	for _, s := range c.Segments {
		if n := len(out); n > 0 && out[n-1].Type == phys.TypeRAM && uint64(out[n-1].Start)+out[n-1].Size == s.GPA && s.End() != firmwareTop {
			out[n-1].Size += s.MemSize
			continue
		}
		r := phys.RangeSpec{Type: phys.TypeRAM, Start: x86.GPA(s.GPA), Size: s.MemSize}
		if s.End() == firmwareTop && s.GPA >= firmwareTop-16<<20 {
			r.Type, r.Name = phys.TypeROM, "firmware"
		}
		out = append(out, r)
	}
	n := 0
	for i := range out {
		if out[i].Name == "" {
			out[i].Name = fmt.Sprintf("ram%d", n)
			n++
		}
	}
	return out
}

// ImportOptions are Options plus the vCPU whose address space is taken.
type ImportOptions struct {
	Options
	CPU int
}

// Import builds the snapshot of one vCPU of a core.
func Import(c *Core, o ImportOptions) (*Snapshot, error) {
	if err := c.checkRanges(); err != nil {
		return nil, err
	}
	r, err := c.Regs(o.CPU)
	if err != nil {
		return nil, err
	}
	if o.Source == "" {
		o.Source = "a QEMU core"
	}
	o.Source = Name(o.Source, o.CPU)
	return Build(c, c.Ranges(), r, o.Options)
}

// checkRanges refuses what the engine cannot hold, before anything is
// built: pages that are not page aligned, more memory than it models.
func (c *Core) checkRanges() error {
	total := uint64(0)
	for _, s := range c.Segments {
		if s.GPA%x86.PageSize != 0 || s.MemSize%x86.PageSize != 0 {
			return fmt.Errorf("PT_LOAD segment [%#x, +%#x) is not page aligned", s.GPA, s.MemSize)
		}
		total += s.MemSize
	}
	if total > phys.MaxGuestBytes {
		return fmt.Errorf("the core holds %d MiB of guest memory; the engine models at most %d MiB", total>>20, phys.MaxGuestBytes>>20)
	}
	if len(c.Segments) > phys.MaxRanges {
		return fmt.Errorf("%d segments; the engine takes at most %d ranges", len(c.Segments), phys.MaxRanges)
	}
	return nil
}

// Magic starts every ELF file; the importer registered with traces
// claims the ones that start with it.
const Magic = "\x7fELF"

// DefaultImport is what a command that opens a trace does with a core
// given in its place: vCPU 0, EFER.NXE inferred, a sample per region.
var DefaultImport = ImportOptions{}

func init() {
	traces.RegisterImporter(traces.Importer{
		Name:  "QEMU ELF core",
		Magic: []byte(Magic),
		Open: func(r io.ReaderAt, size int64, name string) (traces.Reader, error) {
			c, err := OpenCore(r, size)
			if err != nil {
				return nil, err
			}
			o := DefaultImport
			o.Source = filepath.Base(name)
			s, err := Import(c, o)
			if err != nil {
				return nil, err
			}
			return traces.NewEventsReader(name, s.Header, s.Events)
		},
	})
}
