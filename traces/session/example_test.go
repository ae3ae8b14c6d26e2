package session_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// A sample replayed under nested paging with a small pool, as
// `explorer replay --paging nested --pool 64` would, then back to event
// 40 (a seek replays from the start here; a file opened with
// Options.Seek jumps through checkpoints).
func Example() {
	src, err := session.Sample("modes.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := session.Open(src, session.Options{Overrides: session.Overrides{Paging: engine.PagingNested, PagingSet: true, Pool: 64}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	faults := 0
	for {
		o, err := s.Step()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if o.Path == engine.PathGuestFault {
			faults++
		}
	}
	n, _ := s.Total()
	fmt.Printf("%v paging, pool %d: %d events, %d guest faults\n", s.Config().Paging, s.Config().PoolPages, n, faults)
	if err := s.Seek(40); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("back at event", s.Pos())
	// Output:
	// nested paging, pool 64: 75 events, 5 guest faults
	// back at event 40
}
