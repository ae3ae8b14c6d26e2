package traces

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Seeking: jumping to any event of a trace without replaying it all.
//
// OpenSeeker replays the trace once through the engine it is given and
// keeps checkpoints along the way: the engine's saved state (Save) before
// event k, for k a multiple of an interval, with the byte offset of the
// binary block that holds event k. Seek(n) loads the last checkpoint at
// or before n, starts reading at its block, skips the block's events
// before k and replays events k..n-1. So a seek costs one Load, the
// decoding of at most one block and the replay of fewer than Interval
// events.
//
// Checkpoint policy. Checkpoint 0 is the engine's state before the first
// event; the others are at multiples of the interval, which starts at
// max(MinInterval, ceil(total/MaxCheckpoints)) when the number of events
// is known (the binary header's or trailer's count) and at MinInterval
// otherwise. Whenever there would be more than MaxCheckpoints, or their
// states would take more than MaxBytes, every other checkpoint is dropped
// and the interval doubles. Checkpoint 0 is never dropped.
//
// Memory. While checkpoints are built, and afterwards when they are kept
// in memory only, the states take at most MaxBytes, plus the one being
// added, plus the trace's live named snapshots (save events: at most
// engine.MaxSnapshots states, which the engine holds as well). Once they
// are in the sidecar cache (see SeekOptions.CachePath), only the index and
// checkpoint 0 stay in memory, and a seek reads one state at a time.
//
// What a checkpoint restores beyond the engine's saved state, which holds
// neither: the named snapshots of the trace's save events (each is
// loaded and saved again under its name, by a save event applied to the
// engine), and the virtual handlers, for engines that list them
// (VirtHandlers, RegisterVirtHandler, DeregisterVirtHandler: the shadow
// engine and the reference CPU do). What no checkpoint restores: the
// engine's statistics and handler call counters, and under shadow paging
// the shadow tables and TLB, which Load rebuilds by a full resync; so
// outcomes after a seek may show syncs where a straight replay showed
// hits, while everything the guest sees is the same.
//
// Text traces have no blocks to start from: only checkpoint 0 is kept
// and a seek replays from the first event.

// SeekEngine is the engine a Seeker drives: *engine.Shadow and
// *engine.Reference are two.
type SeekEngine interface {
	Apply(engine.Event) (engine.Outcome, error)
	ApplyTo(*engine.Event, *engine.Outcome) error
	// State takes the engine's state; LoadState replaces it, the event
	// counter included.
	StateEngine
	// Events is the number of events applied (the index of the next).
	Events() uint64
}

// virtEngine is an engine whose virtual handlers a Seeker can set, since
// saved states do not hold them.
type virtEngine interface {
	VirtHandlers() []*engine.VirtHandler
	RegisterVirtHandler(typ engine.VirtHandlerType, start x86.GVA, size uint64, name string) error
	DeregisterVirtHandler(start x86.GVA) error
}

// Defaults of SeekOptions.
const (
	DefaultMaxCheckpoints = 64
	DefaultMinInterval    = 1 << 16
	DefaultMaxBytes       = 256 << 20
)

// SeekOptions tune a Seeker. The zero value (or nil) takes the defaults.
type SeekOptions struct {
	// MaxCheckpoints bounds the number of checkpoints, checkpoint 0
	// included (DefaultMaxCheckpoints if 0; at least 1).
	MaxCheckpoints int
	// MinInterval is the least number of events between checkpoints
	// (DefaultMinInterval if 0).
	MinInterval uint64
	// MaxBytes bounds the bytes of the saved states kept
	// (DefaultMaxBytes if 0).
	MaxBytes int64
	// CachePath is where the checkpoints of a binary trace are kept
	// between runs. "" is the default: FILE.idx next to the trace, or
	// when that cannot be written, a file under the user's cache
	// directory. The cache is used when it names the same trace (size
	// and modification time), engine (Key) and policy; otherwise, or
	// when it is damaged in any way, it is rebuilt.
	CachePath string
	// NoCache keeps the checkpoints in memory only.
	NoCache bool
	// Key tells apart engines whose saved states differ (the shadow
	// engine records where its hypervisor mappings float; the reference
	// CPU has none). "" is the default: the engine's Go type and its
	// configuration, when it has a Config method.
	Key string
	// Progress, when set, is called while checkpoints are built, every
	// few tens of thousands of events and at the end, with the events
	// replayed so far and the total when known (0 otherwise).
	Progress func(done, total uint64)
	// Observe, when set, sees the outcome of every event the replay that
	// builds the checkpoints applies, in order, before the next event is
	// applied: a caller that needs a pass over the trace anyway (a
	// timeline, counts) takes it from this replay instead of a second
	// one. It is not called when the checkpoints come from the cache
	// (see Replayed).
	Observe func(o *engine.Outcome)
}

// ErrSeekRange is a seek beyond the last event of the trace, or beyond
// the damage of a damaged one (the error then matches the damage too).
var ErrSeekRange = errors.New("seek past the end of the trace")

// Seeker is a trace opened for seeking, with the engine it drives. It is
// a Reader too: after Seek(n), Next returns event n. Not safe for
// concurrent use.
type Seeker struct {
	path string
	f    *os.File
	form Form
	hdr  Header
	eng  SeekEngine
	// scratch takes the outcomes of the events that building the
	// checkpoints and seeking replay (only Observe reads them): one
	// outcome, not a copy per event.
	scratch engine.Outcome
	// replayed: open built the checkpoints by replaying the trace.
	replayed bool
	virt     virtEngine // nil when eng cannot list its virtual handlers
	opt      SeekOptions

	base *BinaryReader // the binary header, to resume readers from
	rd   Reader        // reader of the events from next on
	next uint64        // index of the event rd returns next, or unknown

	total    uint64 // complete events that replay (Len)
	damage   error  // why the replay stops before the end marker, nil if it does not
	interval uint64
	cps      []*checkpoint
	held     map[string]*blob // the named snapshots the engine holds, as far as known; nil values: unknown
	cache    cacheState
	packer   *packer // compresses states while checkpoints are built
	unpack   unpacker
}

// unknown is Seeker.next when the reader must be positioned again.
const unknown = math.MaxUint64

// checkpoint is the engine's state before event event.
type checkpoint struct {
	event uint64
	block int64 // byte offset of the block holding event (binary), -1 for text
	first uint64
	state *blob
	virt  []virtSpec
	snaps []namedBlob // live named snapshots, by name
}

type virtSpec struct {
	Type  uint8  `msgpack:"type"`
	Start uint64 `msgpack:"start"`
	Size  uint64 `msgpack:"size"`
	Name  string `msgpack:"name"`
}

type namedBlob struct {
	name string
	b    *blob
}

// OpenSeeker opens the trace at path for seeking with eng, which must
// not have applied any event yet, and builds its checkpoints (or reads
// them from the cache). On return the engine and the reader are at event
// 0. A damaged trace opens: Len and Damage say how far it replays.
func OpenSeeker(path string, eng SeekEngine, opt *SeekOptions) (*Seeker, error) {
	if eng.Events() != 0 {
		return nil, fmt.Errorf("seek %s: the engine has applied %d events already (want a new one)", path, eng.Events())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &Seeker{path: path, f: f, eng: eng, held: map[string]*blob{}}
	if opt != nil {
		s.opt = *opt
	}
	s.virt, _ = eng.(virtEngine)
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Seeker) open() error {
	o := &s.opt
	if o.MaxCheckpoints <= 0 {
		o.MaxCheckpoints = DefaultMaxCheckpoints
	}
	if o.MinInterval == 0 {
		o.MinInterval = DefaultMinInterval
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Key == "" {
		o.Key = defaultKey(s.eng)
	}
	rd, form, err := NewReader(s.f, s.path)
	if err != nil {
		return err
	}
	s.form, s.hdr, s.rd = form, rd.Header(), rd
	s.base, _ = rd.(*BinaryReader)
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	init, err := s.save()
	if err != nil {
		return err
	}
	cp0 := &checkpoint{block: -1, state: init}
	if s.base != nil {
		cp0.block = s.base.Offset()
		if s.readCache(st, cp0) {
			return s.Seek(0)
		}
	}
	s.replayed = true
	if err := s.build(cp0, st.Size()); err != nil {
		return err
	}
	if s.base != nil && !o.NoCache {
		s.writeCache(st)
	}
	return s.Seek(0)
}

// build replays the whole trace, taking checkpoints.
func (s *Seeker) build(cp0 *checkpoint, size int64) error {
	o := &s.opt
	hint, known := uint64(0), false
	if s.base != nil {
		if hint, known = s.base.EventCount(); !known {
			hint, known = trailerCount(s.f, size)
		}
	}
	s.interval = math.MaxUint64 // text: checkpoint 0 only
	if s.base != nil {
		s.interval = o.MinInterval
		if known {
			s.interval = max(o.MinInterval, (hint+uint64(o.MaxCheckpoints)-1)/uint64(o.MaxCheckpoints))
		}
	}
	if !known {
		hint = 0
	}
	s.cps = []*checkpoint{cp0}
	live := map[string]*blob{}
	s.packer = startPacker()
	defer func() { s.packer.stop(); s.packer = nil }()
	var k uint64
	for ; ; k++ {
		if o.Progress != nil && k%(1<<15) == 0 && k > 0 {
			o.Progress(k, hint)
		}
		ev, err := s.rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				return err // the file system's: nothing is known about the trace
			}
			s.damage = err
			break
		}
		if k > 0 && k%s.interval == 0 {
			if err := s.addCheckpoint(k, live); err != nil {
				return err
			}
		}
		if err := s.eng.ApplyTo(&ev, &s.scratch); err != nil {
			s.damage = &applyError{fmt.Errorf("%s: %s: %w", s.rd.Position(), AppendEvent(nil, ev), err)}
			break
		}
		if o.Observe != nil {
			o.Observe(&s.scratch)
		}
		if ev.Kind == engine.EvSave {
			b, err := s.save()
			if err != nil {
				return err
			}
			live[ev.Text] = b
			s.held[ev.Text] = b
		}
	}
	s.total = k
	s.next = unknown // the reader may be past event k (a refused one)
	if o.Progress != nil {
		o.Progress(k, max(hint, k))
	}
	return nil
}

// applyError is a trace error: the engine refused an event.
type applyError struct{ err error }

func (e *applyError) Error() string { return e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

// addCheckpoint saves the engine's state before event k, then thins the
// checkpoints out until they obey the limits.
func (s *Seeker) addCheckpoint(k uint64, live map[string]*blob) error {
	st, err := s.save()
	if err != nil {
		return err
	}
	off, first := s.base.Block()
	cp := &checkpoint{event: k, block: off, first: uint64(first), state: st, virt: s.virtList()}
	for name, b := range live {
		cp.snaps = append(cp.snaps, namedBlob{name, b})
	}
	// sort.Slice: a generic sort is compiled anew per element type (tens
	// of KB in the browser's module), and a checkpoint has few snapshots.
	sort.Slice(cp.snaps, func(i, j int) bool { return cp.snaps[i].name < cp.snaps[j].name })
	s.cps = append(s.cps, cp)
	for len(s.cps) > 1 && (len(s.cps) > s.opt.MaxCheckpoints || s.overBudget(live)) {
		s.interval *= 2
		kept := s.cps[:0]
		for _, c := range s.cps {
			if c.event%s.interval == 0 {
				kept = append(kept, c)
			}
		}
		clear(s.cps[len(kept):])
		s.cps = kept
	}
	return nil
}

func (s *Seeker) virtList() []virtSpec {
	if s.virt == nil {
		return nil
	}
	var l []virtSpec
	for _, h := range s.virt.VirtHandlers() {
		l = append(l, virtSpec{uint8(h.Type), uint64(h.Range.Start), h.Range.Len(), h.Name})
	}
	return l
}

// Header is the trace's header.
func (s *Seeker) Header() Header { return s.hdr }

// Form is the trace's form.
func (s *Seeker) Form() Form { return s.form }

// Len is the number of events that replay: every event of a sound
// trace, those before the damage of a damaged one. Seek takes 0..Len.
func (s *Seeker) Len() uint64 { return s.total }

// Damage is why the trace ends before its end marker (an error matching
// ErrTruncated or ErrCorrupt, naming where), or an event the engine
// refused; nil for a sound trace.
func (s *Seeker) Damage() error { return s.damage }

// Replayed reports whether opening replayed the trace to build the
// checkpoints (calling SeekOptions.Observe for each event) rather than
// reading them from the cache.
func (s *Seeker) Replayed() bool { return s.replayed }

// Interval is the spacing of the checkpoints in events (the largest
// uint64 for a text trace, which has checkpoint 0 only).
func (s *Seeker) Interval() uint64 { return s.interval }

// Checkpoints lists the events the checkpoints are before, in order
// (0 first).
func (s *Seeker) Checkpoints() []uint64 {
	l := make([]uint64, len(s.cps))
	for i, c := range s.cps {
		l[i] = c.event
	}
	return l
}

// Next returns the next event of the trace: after Seek(n), event n. The
// caller applies it to the engine (or not: a later Seek notices).
func (s *Seeker) Next() (engine.Event, error) {
	ev, err := s.rd.Next()
	if err != nil {
		return ev, err
	}
	s.next++
	if ev.Kind == engine.EvSave {
		s.held[ev.Text] = nil // the caller may apply it: unknown
	}
	return ev, nil
}

// Position names the event Next last returned.
func (s *Seeker) Position() string { return s.rd.Position() }

// Close closes the trace and the cache.
func (s *Seeker) Close() error {
	s.cache.close()
	return s.f.Close()
}

// Seek brings the engine to the state after events 0..n-1, and the
// reader to event n. It continues from where the engine is when that is
// on the way (the engine's event counter matches the reader's and no
// checkpoint lies between), and otherwise starts from the last
// checkpoint at or before n. n may be Len (the end); beyond it Seek
// returns an error matching ErrSeekRange (and the damage, if any) and
// changes nothing. After another error the engine's state is undefined
// until a successful Seek.
func (s *Seeker) Seek(n uint64) error {
	if n > s.total {
		if s.damage != nil {
			return fmt.Errorf("%w: event %d, but the trace replays only up to event %d: %w", ErrSeekRange, n, s.total, s.damage)
		}
		return fmt.Errorf("%w: event %d of %d", ErrSeekRange, n, s.total)
	}
	i, _ := slices.BinarySearchFunc(s.cps, n+1, func(c *checkpoint, t uint64) int {
		if c.event < t {
			return -1
		}
		return 1
	})
	i-- // the last checkpoint at or before n; cps[0].event is 0
	cur := s.eng.Events()
	if !(cur == s.next && cur <= n && s.cps[i].event <= cur) {
		if err := s.restore(i); err != nil {
			s.next = unknown
			return err
		}
	}
	for s.next < n {
		ev, err := s.rd.Next()
		if err == nil {
			err = s.eng.ApplyTo(&ev, &s.scratch)
		}
		if err != nil {
			at := s.next
			s.next = unknown
			return fmt.Errorf("seek %s to event %d: at event %d: %w (has the trace changed?)", s.path, n, at, err)
		}
		s.next++
		if ev.Kind == engine.EvSave {
			s.held[ev.Text] = nil
		}
	}
	return nil
}

// restore loads checkpoint i (or, if its state in the cache is damaged,
// the last sound one before it) and positions the reader at its event.
func (s *Seeker) restore(i int) error {
	for ; ; i-- {
		// Snapshots first: bytesOf reuses its buffer.
		err := s.restoreSnaps(s.cps[i])
		var data []byte
		if err == nil {
			data, err = s.bytesOf(s.cps[i].state)
		}
		if err == nil {
			return s.load(s.cps[i], data)
		}
		if !errors.Is(err, errCacheDamaged) || i == 0 {
			return err
		}
		s.cacheDamaged(i)
	}
}

// restoreSnaps gives the engine the named snapshots of c it may not
// hold: each is loaded, then saved under its name by a save event.
func (s *Seeker) restoreSnaps(c *checkpoint) error {
	for _, nb := range c.snaps {
		if s.held[nb.name] == nb.b {
			continue
		}
		data, err := s.bytesOf(nb.b)
		if err != nil {
			return err
		}
		if err := LoadState(s.eng, data); err != nil {
			return fmt.Errorf("seek %s: snapshot %q: %w", s.path, nb.name, err)
		}
		if _, err := s.eng.Apply(engine.Event{Kind: engine.EvSave, Text: nb.name}); err != nil {
			return fmt.Errorf("seek %s: snapshot %q: %w", s.path, nb.name, err)
		}
		s.held[nb.name] = nb.b
	}
	return nil
}

// load loads checkpoint c's state and virtual handlers and starts the
// reader at c's event.
func (s *Seeker) load(c *checkpoint, data []byte) error {
	if s.virt != nil {
		for _, h := range slices.Clone(s.virt.VirtHandlers()) {
			if err := s.virt.DeregisterVirtHandler(h.Range.Start); err != nil {
				return err
			}
		}
	}
	if err := LoadState(s.eng, data); err != nil {
		return fmt.Errorf("seek %s: loading the checkpoint at event %d: %w", s.path, c.event, err)
	}
	if s.virt != nil {
		for _, v := range c.virt {
			if err := s.virt.RegisterVirtHandler(engine.VirtHandlerType(v.Type), x86.GVA(v.Start), v.Size, v.Name); err != nil {
				return fmt.Errorf("seek %s: checkpoint at event %d: %w", s.path, c.event, err)
			}
		}
	}
	if _, err := s.f.Seek(max(c.block, 0), io.SeekStart); err != nil {
		return err
	}
	src := bufio.NewReaderSize(s.f, 64<<10)
	skip := uint64(0)
	if c.block >= 0 {
		s.rd, skip = s.base.ResumeAt(src, c.block, int64(c.first)), c.event-c.first
	} else {
		// The file itself, not src: an imported file (a QEMU core) is
		// read with random access, which the buffered reader hides.
		rd, _, err := NewReader(s.f, s.path)
		if err != nil {
			return err
		}
		s.rd, skip = rd, c.event
	}
	s.next = c.event - skip
	for ; skip > 0; skip-- {
		if _, err := s.rd.Next(); err != nil {
			return fmt.Errorf("seek %s: skipping to the checkpoint at event %d: %w (has the trace changed?)", s.path, c.event, err)
		}
		s.next++
	}
	return nil
}
