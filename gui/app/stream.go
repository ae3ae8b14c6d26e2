package app

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// openSource opens src for reading from its first event. File sources
// without Data are opened by the player (they seek through checkpoints).
func openSource(src Source) (session.Source, error) {
	switch {
	case src.Events != nil && src.Events.Live != nil:
		return src.Events.Live.Reader(), nil
	case src.Events != nil:
		return session.Events(src.Events.Name, src.Events.Header, src.Events.Events), nil
	case src.Sample != "":
		return session.Sample(src.Sample)
	case src.Workload != "":
		s := &workloadStream{src: src}
		if err := s.Restart(); err != nil {
			return nil, err
		}
		return s, nil
	case src.Data != nil:
		return session.Bytes(src.File, src.Data)
	}
	return nil, fmt.Errorf("no source")
}

// workloadStream runs a live guest model (session.Workload) on a
// goroutine of its own. Starting again means building the model again:
// models are deterministic in their seed and parameters, and react only
// to what the guest sees, which no engine configuration changes.
//
// The model runs in a goroutine of its own. Models are coroutines
// (iter.Pull), which the runtime lets only one thread-locking state
// resume, and Ebiten locks its main goroutine to a thread but runs the
// game loop elsewhere: a model made in one and resumed in the other
// crashes the program.
type workloadStream struct {
	src Source
	hdr traces.Header
	req chan *engine.Outcome
	rep chan wlReply
	run chan func()    // batches (batch.go)
	w   session.Source // the model, while a batch runs on its goroutine
	n   uint64         // events read, for Position
}

type wlReply struct {
	ev  engine.Event
	err error
}

func (s *workloadStream) Header() traces.Header { return s.hdr }
func (s *workloadStream) Position() string {
	return fmt.Sprintf("%s: event %d", s.src.Workload, max(s.n, 1)-1)
}

func (s *workloadStream) Next(prev *engine.Outcome) (engine.Event, error) {
	var ev engine.Event
	var err error
	if s.w != nil {
		ev, err = s.w.Next(prev)
	} else {
		s.req <- prev
		r := <-s.rep
		ev, err = r.ev, r.err
	}
	if err == nil {
		s.n++
	}
	return ev, err
}

func (s *workloadStream) Restart() error {
	s.Close()
	s.n = 0
	req, rep, errc := make(chan *engine.Outcome), make(chan wlReply), make(chan error)
	run := make(chan func())
	go func() {
		w, err := session.Workload(s.src.Workload, s.src.Seed, s.src.Params)
		if err != nil {
			errc <- err
			return
		}
		defer w.Close()
		s.hdr = w.Header()
		errc <- nil
		s.serve(w, req, rep, run)
	}()
	if err := <-errc; err != nil {
		return err
	}
	s.req, s.rep, s.run = req, rep, run
	return nil
}

func (s *workloadStream) Close() error {
	if s.req != nil {
		close(s.req)
		s.req = nil
	}
	return nil
}
