package traces

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// op is what the first word of an event line means.
type op struct {
	kind engine.EventKind
	size uint8
}

// ops maps every event keyword, sizes included ("r4", "pw8"), to its
// meaning. A map indexed with string(bytes) does not allocate, and one
// lookup replaces splitting the size off the keyword.
var ops = func() map[string]op {
	m := map[string]op{}
	for k := engine.EventKind(1); k.Valid(); k++ {
		if !k.Sized() {
			m[k.String()] = op{kind: k}
			continue
		}
		for _, s := range []uint8{1, 2, 4, 8} {
			m[fmt.Sprintf("%s%d", k, s)] = op{kind: k, size: s}
		}
	}
	return m
}()

// usage is how the error for a wrong number of operands spells a line.
func usage(o op) string {
	name := o.kind.String()
	if o.kind.Sized() {
		name = fmt.Sprintf("%s%d", name, o.size)
	}
	switch o.kind {
	case engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER:
		return name + " VALUE"
	case engine.EvCPL:
		return name + " 0..3"
	case engine.EvAC:
		return name + " 0|1"
	case engine.EvPKRU:
		return name + " VALUE"
	case engine.EvInvpcid:
		return name + " TYPE PCID [GVA]"
	case engine.EvPhysWrite:
		return name + " GPA VALUE"
	case engine.EvPhysRead:
		return name + " GPA"
	case engine.EvWrite:
		return name + " GVA VALUE"
	case engine.EvLabel:
		return name + " TEXT"
	case engine.EvPhysHandler:
		return name + " mmio|write|all GPA SIZE [NAME]"
	case engine.EvVirtHandler:
		return name + " write|all|hypervisor GVA SIZE [NAME]"
	case engine.EvVirtUnhandler:
		return name + " GVA"
	case engine.EvPhysUnhandler, engine.EvPhysHandlerReset, engine.EvBalloon, engine.EvDeflate:
		return name + " GPA"
	case engine.EvPhysHandlerOff:
		return name + " GPA PAGE"
	case engine.EvShare, engine.EvReset, engine.EvMappingsUnfix:
		return name
	case engine.EvMappingsFix:
		return name + " GVA SIZE"
	case engine.EvSave, engine.EvRestore:
		return name + " NAME"
	}
	return name + " GVA"
}

// parseHyperEvent reads the lines of hypervisor-side events (handlers,
// balloon, sharing, reset); ok is false for every other kind.
func parseHyperEvent(o op, rest []byte) (ev engine.Event, ok bool, err error) {
	ev = engine.Event{Kind: o.kind}
	switch o.kind {
	case engine.EvSave, engine.EvRestore:
		ev.Text = string(trimBlanks(rest))
		if ev.Text == "" {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		return ev, true, checkText(ev.Text, "snapshot name", MaxNameBytes)
	case engine.EvMappingsFix:
		var arg [2][]byte
		if !operands(rest, arg[:]) {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		if ev.Addr, err = parseUint(arg[0]); err == nil {
			ev.Value, err = parseSize(arg[1])
		}
		return ev, true, err
	case engine.EvShare, engine.EvReset, engine.EvMappingsUnfix:
		if len(trimBlanks(rest)) != 0 {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		return ev, true, nil
	case engine.EvPhysUnhandler, engine.EvPhysHandlerReset, engine.EvBalloon, engine.EvDeflate, engine.EvVirtUnhandler:
		var arg [1][]byte
		if !operands(rest, arg[:]) {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		ev.Addr, err = parseUint(arg[0])
		return ev, true, err
	case engine.EvPhysHandlerOff:
		var arg [2][]byte
		if !operands(rest, arg[:]) {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		if ev.Addr, err = parseUint(arg[0]); err == nil {
			ev.Value, err = parseUint(arg[1])
		}
		return ev, true, err
	case engine.EvPhysHandler, engine.EvVirtHandler:
		typ, rest := cutToken(rest)
		start, rest := cutToken(rest)
		size, rest := cutToken(rest)
		if len(size) == 0 {
			return ev, true, fmt.Errorf("want `%s`", usage(o))
		}
		if o.kind == engine.EvPhysHandler {
			t, err := engine.ParsePhysHandlerType(string(typ))
			if err != nil {
				return ev, true, err
			}
			ev.Size = uint8(t)
		} else {
			t, err := engine.ParseVirtHandlerType(string(typ))
			if err != nil {
				return ev, true, err
			}
			ev.Size = uint8(t)
		}
		if ev.Addr, err = parseUint(start); err != nil {
			return ev, true, err
		}
		if ev.Value, err = parseSize(size); err != nil {
			return ev, true, err
		}
		ev.Text = string(trimBlanks(rest))
		return ev, true, checkText(ev.Text, "handler name", MaxNameBytes)
	}
	return ev, false, nil
}

// parseEvent reads one event line. The header must be complete: pw and
// pr are checked against its ranges.
func (tr *TextReader) parseEvent(b []byte) (engine.Event, error) {
	kw, rest := cutToken(b)
	o, ok := ops[string(kw)]
	if !ok {
		return engine.Event{}, unknownKeyword(kw)
	}
	if ev, ok, err := parseHyperEvent(o, rest); ok {
		if err != nil {
			return ev, err
		}
		return ev, tr.check(ev)
	}
	ev := engine.Event{Kind: o.kind, Size: o.size}
	if o.kind == engine.EvInvpcid {
		if err := parseInvpcid(rest, &ev); err != nil {
			return ev, err
		}
		return ev, tr.check(ev)
	}
	if o.kind == engine.EvLabel {
		ev.Text = string(trimBlanks(rest))
		if ev.Text == "" {
			return ev, fmt.Errorf("want `%s`: the text is missing", usage(o))
		}
		return ev, checkText(ev.Text, "label", MaxLabelBytes)
	}
	var arg [2][]byte
	n := 1
	if o.kind == engine.EvPhysWrite || o.kind == engine.EvWrite {
		n = 2
	}
	if !operands(rest, arg[:n]) {
		return ev, fmt.Errorf("want `%s`", usage(o))
	}
	first, err := parseUint(arg[0])
	if err != nil {
		return ev, err
	}
	switch o.kind {
	case engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER, engine.EvCPL, engine.EvAC, engine.EvPKRU:
		ev.Value = first
	case engine.EvPhysWrite, engine.EvWrite:
		ev.Addr = first
		if ev.Value, err = parseUint(arg[1]); err != nil {
			return ev, err
		}
	default:
		ev.Addr = first
	}
	return ev, tr.check(ev)
}

// parseInvpcid reads `invpcid TYPE PCID [GVA]`: the address is required
// for type 0 and, when given with the other types, kept (it is ignored
// when the event is applied, but a round trip must not lose it).
func parseInvpcid(rest []byte, ev *engine.Event) error {
	typ, rest := cutToken(rest)
	pcid, rest := cutToken(rest)
	gva, rest := cutToken(rest)
	if len(pcid) == 0 || len(trimBlanks(rest)) != 0 {
		return fmt.Errorf("want `invpcid TYPE PCID [GVA]`")
	}
	t, err := parseUint(typ)
	if err != nil {
		return err
	}
	if t > 3 {
		return fmt.Errorf("invpcid: #GP: type %d is above 3", t)
	}
	ev.Size = uint8(t)
	if ev.Value, err = parseUint(pcid); err != nil {
		return err
	}
	if len(gva) == 0 {
		if t == 0 {
			return fmt.Errorf("invpcid type 0 needs a GVA: want `invpcid 0 PCID GVA`")
		}
		return nil
	}
	ev.Addr, err = parseUint(gva)
	return err
}

// unknownKeyword explains a first word that names no line kind.
func unknownKeyword(kw []byte) error {
	s := string(kw)
	if headerKeywords[s] {
		return errors.New("header line after the first event")
	}
	for _, p := range []string{"pw", "pr", "r", "w"} {
		digits, ok := strings.CutPrefix(s, p)
		if !ok {
			continue
		}
		if digits == "" {
			return fmt.Errorf("%s needs an access size: %s1, %s2, %s4 or %s8", p, p, p, p, p)
		}
		if strings.Trim(digits, "0123456789") == "" {
			return fmt.Errorf("access size %s is not 1, 2, 4 or 8", shown([]byte(digits)))
		}
	}
	if lower := strings.ToLower(s); lower != s {
		if _, ok := ops[lower]; ok || headerKeywords[lower] {
			return fmt.Errorf("unknown line kind %s (keywords are lower case: %s)", shown(kw), lower)
		}
	}
	return fmt.Errorf("unknown line kind %s", shown(kw))
}

// check is every rule an event obeys beyond its syntax, shared by the
// reader and the writer so that whatever one accepts the other does too.
func (tr *TextReader) check(ev engine.Event) error { return checkEvent(ev, tr.ranges) }

func checkEvent(ev engine.Event, ranges rangeSet) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if ev.Kind == engine.EvPhysWrite || ev.Kind == engine.EvWrite {
		if ev.Size < 8 && ev.Value>>(8*ev.Size) != 0 {
			return fmt.Errorf("value %#x does not fit in %d byte%s", ev.Value, ev.Size, plural(ev.Size))
		}
	}
	if ev.Kind == engine.EvPhysWrite || ev.Kind == engine.EvPhysRead {
		if !ranges.covers(x86.GPA(ev.Addr), uint64(ev.Size)) {
			r := x86.GPARange{Start: x86.GPA(ev.Addr), End: x86.GPA(ev.Addr + uint64(ev.Size))}
			if uint64(r.End) < uint64(r.Start) {
				return fmt.Errorf("%s at %#x wraps around: %w", ev.Op(), ev.Addr, engine.ErrOutsideRAM)
			}
			return fmt.Errorf("%v: %w", r, engine.ErrOutsideRAM)
		}
	}
	return nil
}

func plural(n uint8) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// checkCanonical rejects fields an event's kind does not use: the text
// form has nowhere to put them, so they would not survive a round trip.
func checkCanonical(ev engine.Event) error {
	k := ev.Kind
	usesAddr := k == engine.EvPhysWrite || k == engine.EvPhysRead || k == engine.EvRead ||
		k == engine.EvWrite || k == engine.EvExec || k == engine.EvInvlpg ||
		k == engine.EvPhysHandler || k == engine.EvPhysUnhandler || k == engine.EvPhysHandlerReset ||
		k == engine.EvPhysHandlerOff || k == engine.EvBalloon || k == engine.EvDeflate ||
		k == engine.EvVirtHandler || k == engine.EvVirtUnhandler || k == engine.EvMappingsFix || k == engine.EvInvpcid
	usesValue := k == engine.EvPhysWrite || k == engine.EvWrite || k == engine.EvCPL ||
		k == engine.EvInvpcid || k == engine.EvAC || k == engine.EvPKRU ||
		k == engine.EvPhysHandler || k == engine.EvPhysHandlerOff || k == engine.EvVirtHandler || k == engine.EvMappingsFix
	if _, reg := k.Reg(); reg {
		usesValue = true
	}
	switch {
	case k == engine.EvPhysHandler || k == engine.EvVirtHandler:
		return checkText(ev.Text, "handler name", MaxNameBytes)
	case k == engine.EvSave || k == engine.EvRestore:
		if ev.Addr != 0 || ev.Value != 0 || ev.Size != 0 || ev.Text == "" {
			return fmt.Errorf("%s event with other fields than a name", k)
		}
		return checkText(ev.Text, "snapshot name", MaxNameBytes)
	case !k.Sized() && k != engine.EvInvpcid && ev.Size != 0:
		return fmt.Errorf("%s event carries an access size %d", k, ev.Size)
	case !usesAddr && ev.Addr != 0:
		return fmt.Errorf("%s event carries an address %#x", k, ev.Addr)
	case !usesValue && ev.Value != 0:
		return fmt.Errorf("%s event carries a value %#x", k, ev.Value)
	case k != engine.EvLabel && ev.Text != "":
		return fmt.Errorf("%s event carries a text %q", k, ev.Text)
	case k == engine.EvLabel && ev.Text == "":
		return fmt.Errorf("label event with an empty text")
	case k == engine.EvLabel:
		return checkText(ev.Text, "label", MaxLabelBytes)
	}
	return nil
}
