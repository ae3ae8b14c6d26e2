package viz

import "image/color"

// The palette is Okabe and Ito's (2008), chosen so that the common forms
// of colour blindness still tell its colours apart. Colour never carries
// a meaning alone: every role also has a letter (drawn in cells big
// enough to hold one, and in the legend) and, where it matters, a
// pattern (Mark).
var (
	Black     = rgb(0x000000)
	Orange    = rgb(0xE69F00)
	SkyBlue   = rgb(0x56B4E9)
	Green     = rgb(0x009E73) // bluish green
	Yellow    = rgb(0xF0E442)
	Blue      = rgb(0x0072B2)
	Vermilion = rgb(0xD55E00)
	Purple    = rgb(0xCC79A7) // reddish purple
)

// Interface colours: greys and the frame's background.
var (
	ColBackground = rgb(0xF3F3F1)
	ColPanel      = rgb(0xFFFFFF)
	ColBorder     = rgb(0xD4D4D0)
	ColText       = rgb(0x1B1B1B)
	ColDim        = rgb(0x666666)
	ColFaint      = rgb(0xA0A0A0)
	ColEmpty      = rgb(0xEDEDEA) // a not-present entry, an untouched page
	ColSelect     = rgb(0x000000) // outline of the selected entry
	ColLink       = Vermilion     // connectors between guest and shadow
	ColHeader     = rgb(0xF7F7F5) // table header rows
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

// Tint mixes c with white: f = 0 keeps c, f = 1 gives white.
func Tint(c color.RGBA, f float64) color.RGBA {
	m := func(x uint8) uint8 { return uint8(float64(x) + (255-float64(x))*f + 0.5) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 255}
}

// Shade mixes c with black: f = 0 keeps c, f = 1 gives black.
func Shade(c color.RGBA, f float64) color.RGBA {
	m := func(x uint8) uint8 { return uint8(float64(x)*(1-f) + 0.5) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 255}
}

// Alpha returns c at opacity a (0..255), premultiplied.
func Alpha(c color.RGBA, a uint8) color.RGBA {
	f := uint32(a)
	return color.RGBA{uint8(uint32(c.R) * f / 255), uint8(uint32(c.G) * f / 255), uint8(uint32(c.B) * f / 255), a}
}

// OnColor is the text colour readable on background c.
func OnColor(c color.RGBA) color.RGBA {
	// Relative luminance, roughly; the palette's yellow, orange and sky
	// blue take dark text, its blue, green, vermilion and black white.
	y := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
	if y > 140 {
		return ColText
	}
	return rgb(0xFFFFFF)
}

// Role is a meaning the UI gives a colour: an entry flag, a kind of
// entry, a page type or state, a handler, a pool kind.
type Role uint8

const (
	// Entry flags (walk inspector chips).
	RolePresent Role = iota
	RoleWritable
	RoleUser
	RoleAccessed
	RoleDirty
	RoleBig
	RoleGlobal
	RoleNX

	// What an entry is (hierarchy cells).
	RoleEmpty      // not present
	RoleTable      // points at a table of the next level
	RolePage       // maps a 4 KiB page, writable
	RolePageRO     // maps a 4 KiB page, read-only
	RoleBigPage    // maps a big page (2 MiB, 4 MiB, 1 GiB)
	RoleTrackDirty // shadow: read-only until the first write sets the guest's D bit
	RoleAccessTrap // shadow: not present until the guest's A bit is set
	RoleStale      // shadow: the guest entry changed; resynced at the next flush
	RoleMapping    // shadow: a hypervisor mapping
	RoleBad        // reserved bits set: the processor faults on it
	RoleNotSynced  // shadow: not present yet, the guest's entry is (built on demand)
	RoleGuestFault // the walk fails here

	// Guest physical pages: types, then RAM states.
	RoleROM
	RoleMMIO
	RoleMMIO2
	RoleReserved
	RoleZero
	RoleAllocated
	RoleShared
	RoleWriteMonitored
	RoleBallooned

	// Overlays on guest pages.
	RoleHandlerPhys  // a physical access handler covers the page
	RoleHandlerVirt  // a virtual access handler resolves to the page
	RoleShadowedPage // the page holds a guest page table the pool shadows

	// Pool pages by the level of the table they hold.
	RolePoolFree
	RolePoolPT
	RolePoolPD
	RolePoolPDPT
	RolePoolTop // PML4, PML5 and nested roots
	RolePoolUnused

	// The guest's linear space below 4 GiB (mappings panel), 4 MiB a cell.
	RoleConflict // a guest page table where a hypervisor mapping is
	RoleSwitcher // the switcher's identity mapping (intermediate context)

	roleCount
)

// RoleStyle is how a role is drawn and named.
type RoleStyle struct {
	Color  color.RGBA
	Letter byte // shown in cells of at least 12 pixels and in the legend
	Mark   Mark // drawn over cells of at least 5 pixels
	Name   string
}

var roles = [roleCount]RoleStyle{
	RolePresent:  {Blue, 'P', 0, "present"},
	RoleWritable: {Vermilion, 'W', 0, "writable"},
	RoleUser:     {Purple, 'U', 0, "user"},
	RoleAccessed: {SkyBlue, 'A', 0, "accessed"},
	RoleDirty:    {Yellow, 'D', 0, "dirty"},
	RoleBig:      {Orange, 'S', 0, "big page (PS)"},
	RoleGlobal:   {Green, 'G', 0, "global"},
	RoleNX:       {Black, 'X', 0, "no-execute"},

	RoleEmpty:      {rgb(0xF1F1EE), 0, 0, "not present"},
	RoleTable:      {Blue, 'T', 0, "points to a table"},
	RolePage:       {Green, 'W', 0, "4K page, writable"},
	RolePageRO:     {rgb(0x8FD1BC), 'R', 0, "4K page, read-only"},
	RoleBigPage:    {Orange, 'B', 0, "big page"},
	RoleTrackDirty: {Yellow, 'd', MarkHatch, "read-only: dirty tracking"},
	RoleAccessTrap: {SkyBlue, 'a', MarkDot, "not present: accessed emulation"},
	RoleStale:      {Purple, 's', MarkCross, "stale (resync pending)"},
	RoleMapping:    {Vermilion, 'M', MarkBar, "hypervisor mapping"},
	RoleBad:        {Black, '!', MarkCross, "reserved bits set"},
	RoleNotSynced:  {rgb(0xD9D9D6), '.', MarkRing, "not synced yet"},
	RoleGuestFault: {Vermilion, '!', 0, "fault"},

	RoleROM:            {Orange, 'R', 0, "ROM"},
	RoleMMIO:           {Vermilion, 'M', MarkCross, "MMIO"},
	RoleMMIO2:          {Purple, '2', 0, "MMIO2 (device RAM)"},
	RoleReserved:       {rgb(0x444444), 'x', 0, "reserved"},
	RoleZero:           {ColEmpty, 'z', 0, "zero page (untouched)"},
	RoleAllocated:      {Green, 'a', 0, "allocated"},
	RoleShared:         {SkyBlue, 's', MarkRing, "shared (copy on write)"},
	RoleWriteMonitored: {Yellow, 'w', MarkHatch, "write-monitored"},
	RoleBallooned:      {rgb(0x5A5A5A), 'b', MarkCross, "ballooned"},

	RoleHandlerPhys:  {Blue, 'H', MarkCorner, "physical handler"},
	RoleHandlerVirt:  {Purple, 'V', MarkBar, "virtual handler"},
	RoleShadowedPage: {Black, 'T', MarkDot, "holds a shadowed guest table"},

	RolePoolFree:   {rgb(0xE2E2DF), 0, 0, "free"},
	RolePoolPT:     {Green, 'T', 0, "page table"},
	RolePoolPD:     {Blue, 'D', 0, "page directory"},
	RolePoolPDPT:   {Orange, 'P', 0, "PDPT"},
	RolePoolTop:    {Purple, '4', 0, "PML4 / PML5 / root"},
	RolePoolUnused: {rgb(0xF6F6F4), 0, 0, "not allocated yet"},

	RoleConflict: {Black, '!', MarkCross, "guest table in a mapping (conflict)"},
	RoleSwitcher: {Purple, 'I', MarkDot, "switcher, identity-mapped"},
}

// Style is how role r is drawn.
func (r Role) Style() RoleStyle {
	if r < roleCount {
		return roles[r]
	}
	return RoleStyle{Color: Black, Letter: '?', Name: "?"}
}

// Color is the role's colour.
func (r Role) Color() color.RGBA { return r.Style().Color }

// Letter is the role's letter (0 for none).
func (r Role) Letter() byte { return r.Style().Letter }

// String is the role's name, as the legend prints it.
func (r Role) String() string { return r.Style().Name }

// LevelColor is the colour of a paging level in the walk inspector's bit
// fields and the hierarchy's column headings (0: the page offset).
func LevelColor(level int) color.RGBA {
	switch level {
	case 5:
		return Purple
	case 4:
		return Vermilion
	case 3:
		return Orange
	case 2:
		return Blue
	case 1:
		return Green
	}
	return rgb(0x9A9A9A)
}
