package traces

import (
	"bytes"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Saved states in bytes: engine.State in msgpack, a header map then one
// map per page. The byte format is the one the engine wrote before it
// kept states as plain values (the field names and their order below are
// the format: changing either changes the bytes); its version is
// engine.SavedStateVersion.

const savedStateMagic = "PGM-EXPLORER-STATE"

type savedHeader struct {
	Magic    string         `msgpack:"magic"`
	Version  int            `msgpack:"version"`
	Ranges   []savedRange   `msgpack:"ranges"`
	MaxPhys  uint8          `msgpack:"maxphys"`
	Regs     savedRegs      `msgpack:"regs"`
	Events   uint64         `msgpack:"events"`
	Handlers []savedHandler `msgpack:"handlers"`
	Mappings []savedMapping `msgpack:"mappings"`
	Fixed    []uint64       `msgpack:"fixed"`
	Pages    int            `msgpack:"pages"` // page records that follow
}

type savedMapping struct {
	Name string `msgpack:"name"`
	Size uint64 `msgpack:"size"`
	Base uint64 `msgpack:"base"`
}

type savedRange struct {
	Type  uint8  `msgpack:"type"`
	Start uint64 `msgpack:"start"`
	Size  uint64 `msgpack:"size"`
	Name  string `msgpack:"name"`
}

// savedRegs has no tags: its keys are the field names.
type savedRegs struct {
	CR0, CR3, CR4, EFER uint64
	CPL                 uint8
	PDPTE               [4]uint64
	AC                  bool
	PKRU                uint32
}

type savedHandler struct {
	Type   uint8      `msgpack:"type"`
	Start  uint64     `msgpack:"start"`
	Size   uint64     `msgpack:"size"`
	Name   string     `msgpack:"name"`
	Reads  uint64     `msgpack:"reads"`
	Writes uint64     `msgpack:"writes"`
	Off    []uint64   `msgpack:"off"`
	Regs   [][]uint64 `msgpack:"regs"`
}

type savedPage struct {
	GPA       uint64 `msgpack:"gpa"`
	Ballooned bool   `msgpack:"ballooned"`
	Data      []byte `msgpack:"data"`
}

// EncodeState writes st.
func EncodeState(w io.Writer, st *engine.State) error {
	h := savedHeader{Magic: savedStateMagic, Version: st.Version, MaxPhys: st.MaxPhys, Events: st.Events,
		Regs:  savedRegs(st.Regs),
		Fixed: st.Fixed, Pages: len(st.Pages)}
	for _, r := range st.Ranges {
		h.Ranges = append(h.Ranges, savedRange(r))
	}
	for _, sh := range st.Handlers {
		h.Handlers = append(h.Handlers, savedHandler(sh))
	}
	for _, m := range st.Mappings {
		h.Mappings = append(h.Mappings, savedMapping(m))
	}
	enc := msgpack.NewEncoder(w)
	if err := enc.Encode(&h); err != nil {
		return err
	}
	for i := range st.Pages {
		p := savedPage(st.Pages[i])
		if err := enc.Encode(&p); err != nil {
			return err
		}
	}
	return nil
}

// DecodeState reads a state EncodeState wrote. Errors wrap
// engine.ErrStateNotState, ErrStateVersion or ErrStateCorrupt; whether
// the state fits a machine is the engine's LoadState to say.
func DecodeState(data []byte) (*engine.State, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	var h savedHeader
	if err := dec.Decode(&h); err != nil {
		if len(data) < len(savedStateMagic) || !bytes.Contains(data[:min(len(data), 64)], []byte(savedStateMagic)) {
			return nil, fmt.Errorf("%w (%v)", engine.ErrStateNotState, err)
		}
		return nil, fmt.Errorf("%w: header: %v", engine.ErrStateCorrupt, err)
	}
	switch {
	case h.Magic != savedStateMagic:
		return nil, engine.ErrStateNotState
	case h.Version != engine.SavedStateVersion:
		return nil, fmt.Errorf("%w %d (this program reads version %d)", engine.ErrStateVersion, h.Version, engine.SavedStateVersion)
	}
	// The page count is bounded by the pages of the ranges the header
	// declares, before anything is allocated for them.
	total := uint64(0)
	for _, r := range h.Ranges {
		total += r.Size >> x86.PageShift
	}
	if h.Pages < 0 || uint64(h.Pages) > total {
		return nil, fmt.Errorf("%w: %d page records for %d pages", engine.ErrStateCorrupt, h.Pages, total)
	}
	st := &engine.State{Version: h.Version, MaxPhys: h.MaxPhys, Events: h.Events, Regs: engine.StateRegs(h.Regs), Fixed: h.Fixed,
		Pages: make([]engine.StatePage, 0, min(h.Pages, 4096))}
	for _, r := range h.Ranges {
		st.Ranges = append(st.Ranges, engine.StateRange(r))
	}
	for _, sh := range h.Handlers {
		st.Handlers = append(st.Handlers, engine.StateHandler(sh))
	}
	for _, m := range h.Mappings {
		st.Mappings = append(st.Mappings, engine.StateMapping(m))
	}
	for i := 0; i < h.Pages; i++ {
		var p savedPage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%w: page record %d of %d: %v", engine.ErrStateCorrupt, i, h.Pages, err)
		}
		st.Pages = append(st.Pages, engine.StatePage(p))
	}
	return st, nil
}

// StateEngine is an engine whose state can be taken and replaced: both
// engine.Shadow and engine.Reference.
type StateEngine interface {
	State() *engine.State
	LoadState(*engine.State) error
}

// SaveState writes e's state.
func SaveState(w io.Writer, e StateEngine) error { return EncodeState(w, e.State()) }

// LoadState replaces e's state by the one data holds. On any error e is
// left as it was.
func LoadState(e StateEngine, data []byte) error {
	st, err := DecodeState(data)
	if err != nil {
		return err
	}
	return e.LoadState(st)
}
