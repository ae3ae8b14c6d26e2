package app

import (
	"bytes"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

// stream is a source of events that can start again from the first.
// Live workloads need the outcome of each event to choose the next;
// traces ignore it.
type stream interface {
	header() traces.Header
	next(prev *engine.Outcome) (engine.Event, error)
	restart() error
	close()
	finite() bool // a trace: it ends, and its length is worth learning up front
}

// openStream opens src for reading from its first event. File sources
// without Data are opened by the player (they seek through checkpoints).
func openStream(src Source) (stream, error) {
	switch {
	case src.Events != nil:
		return &eventsStream{list: src.Events}, nil
	case src.Sample != "":
		data, err := samples.Read(src.Sample)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %v", src.Sample, err)
		}
		return newBytesStream(src.Sample, data)
	case src.Workload != "":
		s := &workloadStream{src: src}
		if err := s.restart(); err != nil {
			return nil, err
		}
		return s, nil
	case src.Data != nil:
		return newBytesStream(src.File, src.Data)
	}
	return nil, fmt.Errorf("no source")
}

// bytesStream reads a trace held in memory.
type bytesStream struct {
	name string
	data []byte
	rd   traces.Reader
}

func newBytesStream(name string, data []byte) (*bytesStream, error) {
	s := &bytesStream{name: name, data: data}
	if err := s.restart(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *bytesStream) header() traces.Header { return s.rd.Header() }
func (s *bytesStream) finite() bool          { return true }
func (s *bytesStream) close()                {}

func (s *bytesStream) next(*engine.Outcome) (engine.Event, error) { return s.rd.Next() }

func (s *bytesStream) restart() error {
	rd, _, err := traces.NewReader(bytes.NewReader(s.data), s.name)
	if err != nil {
		return err
	}
	s.rd = rd
	return nil
}

// workloadStream runs a live guest model. Starting again means building
// the model again: models are deterministic in their seed and
// parameters, and react only to what the guest sees, which no engine
// configuration changes.
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
	run chan func()       // batches (batch.go)
	w   workload.Workload // the model, while a batch runs on its goroutine
}

type wlReply struct {
	ev  engine.Event
	err error
}

func (s *workloadStream) header() traces.Header { return s.hdr }
func (s *workloadStream) finite() bool          { return false }

func (s *workloadStream) next(prev *engine.Outcome) (engine.Event, error) {
	if s.w != nil {
		return s.w.Next(prev)
	}
	s.req <- prev
	r := <-s.rep
	return r.ev, r.err
}

func (s *workloadStream) restart() error {
	s.close()
	req, rep, errc := make(chan *engine.Outcome), make(chan wlReply), make(chan error)
	run := make(chan func())
	go func() {
		w, err := workload.New(s.src.Workload, s.src.Seed, s.src.Params)
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

func (s *workloadStream) close() {
	if s.req != nil {
		close(s.req)
		s.req = nil
	}
}

// seekStream is a trace file read through its checkpoints: the Seeker
// drives the player's engine, so that a jump costs at most one interval
// of replay whatever the trace's length.
type seekStream struct {
	sk *traces.Seeker
}

func (s *seekStream) header() traces.Header                      { return s.sk.Header() }
func (s *seekStream) finite() bool                               { return true }
func (s *seekStream) next(*engine.Outcome) (engine.Event, error) { return s.sk.Next() }
func (s *seekStream) restart() error                             { return s.sk.Seek(0) }
func (s *seekStream) close()                                     { s.sk.Close() }
