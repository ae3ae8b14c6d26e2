package engine

import (
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// HostMode is the host's paging mode. Its numbering is stored in traces
// and saved states.
type HostMode uint8

const (
	HostInvalid     HostMode = 0
	Host32Bit       HostMode = 1
	Host32BitGlobal HostMode = 2
	HostPAE         HostMode = 3
	HostPAEGlobal   HostMode = 4
	HostPAENX       HostMode = 5
	HostPAEGlobalNX HostMode = 6
	HostAMD64       HostMode = 7
	HostAMD64Global HostMode = 8
	HostAMD64NX     HostMode = 9
	HostAMD64GlobNX HostMode = 10
	hostMax         HostMode = 11
)

var hostInfo = [hostMax]struct{ trace, info string }{
	{"", "invalid"},
	{"32bit", "32-bit"}, {"32bit-global", "32-bit+G"},
	{"pae", "PAE"}, {"pae-global", "PAE+G"}, {"pae-nx", "PAE+NX"}, {"pae-global-nx", "PAE+G+NX"},
	{"amd64", "AMD64"}, {"amd64-global", "AMD64+G"}, {"amd64-nx", "AMD64+NX"}, {"amd64-global-nx", "AMD64+G+NX"},
}

// String is the name `info mode` prints.
func (h HostMode) String() string {
	if h < hostMax {
		return hostInfo[h].info
	}
	return "unknown"
}

// TraceName is the name the text trace form uses (`host pae-nx`).
func (h HostMode) TraceName() string {
	if h < hostMax {
		return hostInfo[h].trace
	}
	return ""
}

// ParseHostMode reads a trace host-mode name.
func ParseHostMode(s string) (HostMode, error) {
	for h := Host32Bit; h < hostMax; h++ {
		if hostInfo[h].trace == s {
			return h, nil
		}
	}
	return HostInvalid, fmt.Errorf("unknown host paging mode %q (want one of %s)", s, strings.Join(HostModeNames(), ", "))
}

// HostModeNames lists the trace names of every host mode.
func HostModeNames() []string {
	var s []string
	for h := Host32Bit; h < hostMax; h++ {
		s = append(s, hostInfo[h].trace)
	}
	return s
}

// Paging folds the host mode into a paging mode, as the original engine
// did to choose a shadow format.
func (h HostMode) Paging() x86.Mode {
	switch h {
	case Host32Bit, Host32BitGlobal:
		return x86.Mode32Bit
	case HostPAE, HostPAEGlobal:
		return x86.ModePAE
	case HostPAENX, HostPAEGlobalNX:
		return x86.ModePAENX
	case HostAMD64, HostAMD64Global:
		return x86.ModeAMD64
	case HostAMD64NX, HostAMD64GlobNX:
		return x86.ModeAMD64NX
	}
	return x86.ModeInvalid
}

// Defaults for a configuration that does not say.
const (
	DefaultHost      = HostAMD64NX
	DefaultPoolPages = 1024
	MinPoolPages     = 16
	MaxPoolPages     = 0x3fff
)

// Config is everything a trace header decides.
type Config struct {
	Ranges    []phys.RangeSpec
	Host      HostMode
	Paging    Paging        // shadow tables, or hardware nested paging (AMD-V or EPT)
	PoolPages int           // shadow page pool size; 0 means DefaultPoolPages
	MaxPhys   uint8         // MAXPHYADDR; 0 means x86.DefaultMaxPhys
	NoPAE     bool          // the guest CPU reports no PAE: PAE and long mode are refused
	Mappings  []MappingSpec // hypervisor mappings in the guest's linear space (shadow paging)
	DirtyPT   bool          // the later engine's dirty page tables: busy guest page tables go unmonitored until the next flush
}

// DefaultConfig is a configuration with the defaults and no memory.
func DefaultConfig() Config {
	return Config{Host: DefaultHost, PoolPages: DefaultPoolPages, MaxPhys: x86.DefaultMaxPhys}
}

// Normalized fills defaults in and validates c.
func (c Config) Normalized() (Config, error) {
	if c.Host == HostInvalid {
		c.Host = DefaultHost
	}
	if c.PoolPages == 0 {
		c.PoolPages = DefaultPoolPages
	}
	if c.MaxPhys == 0 {
		c.MaxPhys = x86.DefaultMaxPhys
	}
	switch {
	case c.Paging > PagingEPT:
		return c, fmt.Errorf("paging %d unknown", c.Paging)
	case c.Host >= hostMax:
		return c, fmt.Errorf("host paging mode %d unknown", c.Host)
	case c.PoolPages < MinPoolPages || c.PoolPages > MaxPoolPages:
		return c, fmt.Errorf("pool of %d pages outside %d..%d", c.PoolPages, MinPoolPages, MaxPoolPages)
	case c.MaxPhys < x86.MinMaxPhys || c.MaxPhys > x86.MaxMaxPhys:
		return c, fmt.Errorf("maxphyaddr %d outside %d..%d", c.MaxPhys, x86.MinMaxPhys, x86.MaxMaxPhys)
	}
	return c, nil
}
