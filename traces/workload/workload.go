package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"runtime/debug"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Workload is a live guest model.
//
// The caller alternates Next and engine.Apply: the first call passes a
// nil outcome, each later call the outcome of the event the previous call
// returned. Next returns io.EOF when the guest has nothing more to do (a
// workload may also run for ever), or another error when the model found
// an outcome it cannot explain (a bug in the model or in the engine).
// Close releases the model; call it when done, whether or not Next
// reached the end. A Workload is not safe for concurrent use.
type Workload interface {
	// Name is the registry name of the workload.
	Name() string
	// Header is the trace header of a recording: the machine the guest
	// needs, engine defaults, and the metadata that rebuilds it.
	Header() traces.Header
	Next(prev *engine.Outcome) (engine.Event, error)
	Close()
}

// Run drives w live on eng: each event w produces is applied to eng,
// handed to emit with its outcome (emit may be nil), and the outcome
// goes back to w. Run stops after max events (max <= 0: when w ends), at
// the first error of w, eng or emit, or when ctx is done (its error is
// returned). It returns how many events were applied and emitted.
//
// An engine error is a trace error (a control-register write that
// raises #GP, say): for a well-behaved workload it is a bug, reported
// with the event's index.
func Run(ctx context.Context, w Workload, eng engine.Engine, max int, emit func(engine.Event, *engine.Outcome) error) (int, error) {
	var prev *engine.Outcome
	var o engine.Outcome
	n := 0
	for ; max <= 0 || n < max; n++ {
		if n&63 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		ev, err := w.Next(prev)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if o, err = eng.Apply(ev); err != nil {
			return n, fmt.Errorf("workload %s: event %d %s: %w", w.Name(), n, traces.AppendEvent(nil, ev), err)
		}
		if emit != nil {
			if err := emit(ev, &o); err != nil {
				return n, err
			}
		}
		prev = &o
	}
	return n, nil
}

// live turns a guest model written as straight-line code (emit an event,
// look at its outcome, decide) into a Workload, with a coroutine
// (iter.Pull): the model's body runs until it emits an event, then waits
// for the outcome Next hands it.
type live struct {
	name    string
	header  traces.Header
	m       *machine
	next    func() (engine.Event, bool)
	stop    func()
	last    engine.Event
	started bool
	done    bool
}

// stopped is the panic that unwinds a model's body when Close is called
// before the body returned.
type stopped struct{}

// ModelError reports an outcome the model cannot explain: a kernel
// access that faulted, a fault the model did not expect. The model stops
// there.
type ModelError struct {
	Workload string
	Index    uint64 // index of the event whose outcome was unexpected
	Msg      string
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("workload %s: event %d: %s", e.Workload, e.Index, e.Msg)
}

// start makes a Workload of body, which drives m.
func start(name string, h traces.Header, m *machine, body func()) *live {
	l := &live{name: name, header: h, m: m}
	m.name = name
	seq := func(yield func(engine.Event) bool) {
		m.yield = yield
		defer func() {
			if r := recover(); r != nil {
				switch e := r.(type) {
				case stopped:
				case *ModelError:
					m.err = e
				default:
					// A bug in the model: keep where it happened, which
					// the coroutine's re-panic would lose.
					panic(fmt.Sprintf("workload %s: %v\n%s", name, r, debug.Stack()))
				}
			}
		}()
		body()
	}
	l.next, l.stop = iter.Pull(seq)
	return l
}

func (l *live) Name() string { return l.name }

func (l *live) Header() traces.Header {
	h := l.header
	h.Config.Ranges = slices.Clone(h.Config.Ranges)
	h.Meta = maps.Clone(h.Meta)
	return h
}

func (l *live) Close() {
	l.stop()
	l.done = true
}

func (l *live) Next(prev *engine.Outcome) (engine.Event, error) {
	if l.done {
		return engine.Event{}, l.end()
	}
	if l.started {
		switch {
		case prev == nil:
			return engine.Event{}, fmt.Errorf("workload %s: Next needs the outcome of the previous event", l.name)
		case prev.Event != l.last:
			return engine.Event{}, fmt.Errorf("workload %s: Next got the outcome of %s, want that of %s", l.name,
				traces.AppendEvent(nil, prev.Event), traces.AppendEvent(nil, l.last))
		}
		l.m.out = *prev
	}
	l.started = true
	ev, ok := l.next()
	if !ok {
		l.done = true
		return engine.Event{}, l.end()
	}
	l.last = ev
	return ev, nil
}

func (l *live) end() error {
	if l.m.err != nil {
		return l.m.err
	}
	return io.EOF
}
