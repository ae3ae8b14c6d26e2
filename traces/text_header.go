package traces

import (
	"fmt"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Version is the text form's version, the number on its `pgmtrace` line.
const Version = 1

// Limits on free text. Header text is bounded so that a header costs
// bounded memory however long the trace.
const (
	MaxNameBytes   = 256  // a range name or a meta key
	MaxMetaBytes   = 4096 // a meta value
	MaxMetaEntries = 256
	// MaxLabelBytes is what fits on one line after "label ": a longer
	// label could be written but not read back.
	MaxLabelBytes = MaxLineBytes - len("label ")
)

const (
	metaKeyAlphabet  = "letters, digits, '.', '_', '-' and '/'"
	textRulesMessage = "valid UTF-8 without control characters (bidirectional controls such as U+202E included)"
)

// Header is what a trace says before its first event.
type Header struct {
	// Version is the format version (1). The writer also accepts 0 for
	// "the current version".
	Version int
	// Config is the machine: ranges in declaration order, host mode,
	// paging, pool and MAXPHYADDR. A reader returns it normalised
	// (defaults filled in) and validated.
	Config engine.Config
	// Meta is free-form metadata (`meta KEY VALUE` lines): who or what
	// made the trace, a description... The engine ignores it. The reader
	// leaves it nil when the trace has none.
	Meta map[string]string
}

// rangeKeywords maps the text keyword of a range to its page type, in
// both directions. Page types without a keyword (MMIO2, ROM shadow,
// reserved) cannot appear in a text trace.
var rangeKeywords = [...]struct {
	kw string
	t  phys.PageType
}{{"ram", phys.TypeRAM}, {"rom", phys.TypeROM}, {"mmio", phys.TypeMMIO}}

func rangeKeyword(t phys.PageType) (string, bool) {
	for _, k := range rangeKeywords {
		if k.t == t {
			return k.kw, true
		}
	}
	return "", false
}

// headerKeywords are the first words of header lines; seeing one after
// the first event is an error rather than an unknown line.
var headerKeywords = map[string]bool{
	"pgmtrace": true, "ram": true, "rom": true, "mmio": true, "host": true,
	"paging": true, "pool": true, "maxphyaddr": true, "meta": true, "cpu": true, "mapping": true, "option": true,
}

// headerBuilder accumulates header lines and enforces their order rules.
type headerBuilder struct {
	h                              Header
	seenHost, seenPaging, seenPool bool
	seenMaxPhys, seenCPU           bool
	maxPhys                        uint8
	scratch                        [1][]byte
}

func newHeaderBuilder() *headerBuilder {
	return &headerBuilder{h: Header{Version: Version}, maxPhys: x86.DefaultMaxPhys}
}

// line applies one header line whose first word is kw.
func (hb *headerBuilder) line(kw string, rest []byte) error {
	switch kw {
	case "pgmtrace":
		return fmt.Errorf("a second pgmtrace line")
	case "ram", "rom", "mmio":
		return hb.rangeLine(kw, rest)
	case "meta":
		return hb.metaLine(rest)
	case "mapping":
		return hb.mappingLine(rest)
	}
	arg := hb.scratch[:]
	if !operands(rest, arg) {
		return fmt.Errorf("want `%s %s`", kw, headerUsage[kw])
	}
	c := &hb.h.Config
	switch kw {
	case "host":
		if err := once(&hb.seenHost, kw); err != nil {
			return err
		}
		m, err := engine.ParseHostMode(string(arg[0]))
		if err != nil {
			return err
		}
		c.Host = m
	case "paging":
		if err := once(&hb.seenPaging, kw); err != nil {
			return err
		}
		p, err := engine.ParsePaging(string(arg[0]))
		if err != nil {
			return fmt.Errorf("unknown paging %s (want shadow, nested or ept)", shown(arg[0]))
		}
		c.Paging = p
	case "pool":
		if err := once(&hb.seenPool, kw); err != nil {
			return err
		}
		n, err := parseUint(arg[0])
		if err != nil {
			return err
		}
		if n < engine.MinPoolPages || n > engine.MaxPoolPages {
			return fmt.Errorf("pool of %d pages outside %d..%d", n, engine.MinPoolPages, engine.MaxPoolPages)
		}
		c.PoolPages = int(n)
	case "option":
		if string(arg[0]) != "dirty-pt" {
			return fmt.Errorf("unknown option %s (want `option dirty-pt`)", shown(arg[0]))
		}
		if c.DirtyPT {
			return fmt.Errorf("option dirty-pt given twice")
		}
		c.DirtyPT = true
	case "cpu":
		if err := once(&hb.seenCPU, kw); err != nil {
			return err
		}
		if string(arg[0]) != "no-pae" {
			return fmt.Errorf("unknown cpu feature line %s (want `cpu no-pae`)", shown(arg[0]))
		}
		c.NoPAE = true
	case "maxphyaddr":
		if err := once(&hb.seenMaxPhys, kw); err != nil {
			return err
		}
		if len(c.Ranges) > 0 {
			return fmt.Errorf("maxphyaddr after a range line: it must come before every range, which is checked against it")
		}
		n, err := parseUint(arg[0])
		if err != nil {
			return err
		}
		if n < x86.MinMaxPhys || n > x86.MaxMaxPhys {
			return fmt.Errorf("maxphyaddr %d outside %d..%d", n, x86.MinMaxPhys, x86.MaxMaxPhys)
		}
		hb.maxPhys = uint8(n)
		c.MaxPhys = uint8(n)
	}
	return nil
}

var headerUsage = map[string]string{
	"host": "MODE", "paging": "shadow|nested", "pool": "PAGES", "maxphyaddr": "BITS", "cpu": "no-pae", "option": "dirty-pt",
}

func once(seen *bool, kw string) error {
	if *seen {
		return fmt.Errorf("a second %s line", kw)
	}
	*seen = true
	return nil
}

// rangeLine reads `KW GPA SIZE [NAME]`.
func (hb *headerBuilder) rangeLine(kw string, rest []byte) error {
	gpa, rest := cutToken(rest)
	size, rest := cutToken(rest)
	if len(size) == 0 {
		return fmt.Errorf("want `%s GPA SIZE [NAME]`", kw)
	}
	spec := phys.RangeSpec{Name: string(trimBlanks(rest))}
	for _, k := range rangeKeywords {
		if k.kw == kw {
			spec.Type = k.t
		}
	}
	// A unit on the start address is harmless and reads naturally
	// (`ram 1M 15M`); event operands still take plain numbers.
	start, err := parseSize(gpa)
	if err != nil {
		return err
	}
	spec.Start = x86.GPA(start)
	if spec.Size, err = parseSize(size); err != nil {
		return err
	}
	if err := checkRange(hb.h.Config.Ranges, spec, hb.maxPhys); err != nil {
		return err
	}
	hb.h.Config.Ranges = append(hb.h.Config.Ranges, spec)
	return nil
}

// checkRange is every rule a range line obeys, for reader and writer.
func checkRange(existing []phys.RangeSpec, spec phys.RangeSpec, maxPhys uint8) error {
	if err := checkText(spec.Name, "range name", MaxNameBytes); err != nil {
		return err
	}
	return phys.CheckRange(existing, spec, maxPhys)
}

// metaLine reads `meta KEY [VALUE]`.
func (hb *headerBuilder) metaLine(rest []byte) error {
	key, rest := cutToken(rest)
	if len(key) == 0 {
		return fmt.Errorf("want `meta KEY VALUE`")
	}
	k, v := string(key), string(trimBlanks(rest))
	if _, dup := hb.h.Meta[k]; dup {
		return fmt.Errorf("a second meta %s line", k)
	}
	if err := checkMeta(k, v, len(hb.h.Meta)); err != nil {
		return err
	}
	if hb.h.Meta == nil {
		hb.h.Meta = make(map[string]string)
	}
	hb.h.Meta[k] = v
	return nil
}

// checkMeta is every rule a meta line obeys; have is the number of
// entries already accepted.
func checkMeta(k, v string, have int) error {
	if have >= MaxMetaEntries {
		return fmt.Errorf("more than %d meta lines", MaxMetaEntries)
	}
	if k == "" || len(k) > MaxNameBytes {
		return fmt.Errorf("meta key of %d bytes (want 1..%d)", len(k), MaxNameBytes)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isLetter(c) && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' && c != '/' {
			return fmt.Errorf("meta key %q: want %s", k, metaKeyAlphabet)
		}
	}
	return checkText(v, "meta value", MaxMetaBytes)
}

// checkText enforces what free text (range names, meta values, labels)
// must be to survive a write and a read unchanged: the reader trims
// blanks and stops at '#', and it keeps text printable.
func checkText(s, what string, maxLen int) error {
	switch {
	case len(s) > maxLen:
		return fmt.Errorf("%s of %d bytes, more than %d", what, len(s), maxLen)
	case len(s) > 0 && (isBlank(s[0]) || isBlank(s[len(s)-1])):
		return fmt.Errorf("%s %q starts or ends with a blank", what, s)
	case !printable(s):
		return fmt.Errorf("%s %s is not %s", what, shown([]byte(s)), textRulesMessage)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			return fmt.Errorf("%s %q contains '#', which starts a comment", what, s)
		}
	}
	return nil
}

// finish normalises the configuration once the header is complete.
func (hb *headerBuilder) finish() (Header, error) {
	c, err := hb.h.Config.Normalized()
	if err != nil {
		return Header{}, err
	}
	hb.h.Config = c
	return hb.h, nil
}

// rangeSet answers "is every byte of this access inside some range" in
// O(log n), for pw and pr events.
type rangeSet []x86.GPARange

func newRangeSet(specs []phys.RangeSpec) rangeSet {
	rs := make(rangeSet, 0, len(specs))
	for _, s := range specs {
		if r, ok := x86.MakeRange(s.Start, s.Size); ok && !r.Empty() {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	return rs
}

// covers reports whether [addr, addr+size) lies in the union of the
// ranges; an access may straddle two adjacent ranges.
func (rs rangeSet) covers(addr x86.GPA, size uint64) bool {
	last, ok := x86.AddLength(addr, size-1)
	if !ok || size == 0 {
		return false
	}
	for cur := addr; ; {
		i := sort.Search(len(rs), func(i int) bool { return rs[i].End > cur })
		if i == len(rs) || !rs[i].Contains(cur) {
			return false
		}
		if rs[i].Last() >= last {
			return true
		}
		cur = rs[i].End
	}
}

// mappingLine reads `mapping NAME SIZE`: a hypervisor mapping.
func (hb *headerBuilder) mappingLine(rest []byte) error {
	name, rest := cutToken(rest)
	size, rest := cutToken(rest)
	if len(size) == 0 || len(trimBlanks(rest)) != 0 {
		return fmt.Errorf("want `mapping NAME SIZE`")
	}
	n, err := parseSize(size)
	if err != nil {
		return err
	}
	if n < 2<<20 || n > 64<<20 {
		return fmt.Errorf("mapping %s of %s: a mapping is 2M to 64M", shown(name), shown(size))
	}
	if len(hb.h.Config.Mappings) >= 16 {
		return fmt.Errorf("more than 16 mappings")
	}
	if err := checkText(string(name), "mapping name", MaxNameBytes); err != nil {
		return err
	}
	for _, m := range hb.h.Config.Mappings {
		if m.Name == string(name) {
			return fmt.Errorf("mapping %s declared twice", shown(name))
		}
	}
	hb.h.Config.Mappings = append(hb.h.Config.Mappings, engine.MappingSpec{Name: string(name), Size: n})
	return nil
}
