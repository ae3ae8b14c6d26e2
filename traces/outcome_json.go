package traces

import (
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// AppendOutcomeJSON appends o as one JSON object in the form fixed by
// TRACE-TEXT.md (field order included), without a newline: the line of
// `explorer replay --outcomes=jsonl`. Hand-written rather than
// encoding/json because replays print millions of them. (The engine
// keeps outcomes as plain values; their encodings live here.)
func AppendOutcomeJSON(b []byte, o *engine.Outcome) []byte {
	b = append(b, `{"i":`...)
	b = strconv.AppendUint(b, o.Index, 10)
	b = append(b, `,"op":"`...)
	b = append(b, o.Event.Op()...)
	b = append(b, '"')
	phys := o.Event.Kind == engine.EvPhysRead || o.Event.Kind == engine.EvPhysWrite
	if phys {
		b = appendHexField(b, "gpa", o.Event.Addr)
	} else {
		b = appendHexField(b, "gva", o.Event.Addr)
	}
	if o.OK {
		b = append(b, `,"ok":true`...)
		if !phys {
			b = appendHexField(b, "gpa", uint64(o.GPA))
		}
		if o.Event.Kind == engine.EvRead || o.Event.Kind == engine.EvPhysRead {
			b = appendHexField(b, "value", o.Value)
		}
	} else {
		b = append(b, `,"ok":false,"err":"`...)
		if o.Fault.Kind == x86.NonCanonical {
			b = append(b, "gp"...)
		} else {
			b = append(b, "0x"...)
			b = strconv.AppendUint(b, uint64(o.Fault.Code), 16)
		}
		b = append(b, '"')
	}
	if !phys && o.Path != engine.PathNone {
		b = append(b, `,"path":"`...)
		b = append(b, o.Path.String()...)
		b = append(b, '"')
	}
	if o.Handler != "" {
		// An addition to the contract's fields: which device saw it.
		b = append(b, `,"handler":`...)
		b = stats.AppendJSONString(b, o.Handler)
	}
	if !phys && o.AS != 0 {
		// An addition to the contract's fields: the address space (the
		// CR3 in force), left out when CR3 is 0 (before paging, mostly)
		// so that the contract's own examples stay as they are.
		b = appendHexField(b, "as", o.AS)
	}
	return append(b, '}')
}

func appendHexField(b []byte, name string, v uint64) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"0x`...)
	b = strconv.AppendUint(b, v, 16)
	return append(b, '"')
}
