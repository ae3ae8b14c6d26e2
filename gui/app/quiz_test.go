package app

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// TestQuiz asks every question the tour's accesses allow, under shadow
// and nested paging, answers right and wrong in turn, and checks the
// score, and that the answer held is what the engine then does.
func TestQuiz(t *testing.T) {
	for _, paging := range []string{"shadow", "nested"} {
		st := State{Source: Source{Sample: "modes-tour.txt"}}
		st.Paging, _ = engine.ParsePaging(paging)
		st.PagingSet = true
		tourOff := false
		a, err := New(Options{State: st, Tour: &tourOff})
		if err != nil {
			t.Fatal(err)
		}
		a.Settle()
		kinds := map[string]int{}
		var want Score
		for a.p.pos() < a.p.total {
			q, ok := a.newQuestion()
			if !ok {
				a.Step(1)
				run(a)
				continue
			}
			a.Update(Input{Chars: []rune{'x'}})
			if a.quiz == nil || a.quiz.ask != q.ask {
				t.Fatalf("x at %d opened %+v", a.p.pos(), a.quiz)
			}
			choice := q.right
			if want.Asked%2 == 1 {
				choice = (q.right + 1) % len(q.choices)
			} else {
				want.Right++
			}
			want.Asked++
			a.Update(Input{Chars: []rune(strconv.Itoa(choice + 1))})
			run(a)
			if a.score != want || a.quiz.chosen != choice {
				t.Fatalf("at %d: score %+v, want %+v", q.event, a.score, want)
			}
			if a.p.pos() != q.event+1 {
				t.Fatalf("answering did not show the access: at %d", a.p.pos())
			}
			o := a.p.last
			answer := q.choices[q.right]
			switch {
			case strings.Contains(q.ask, "Which level"):
				kinds["level"]++
				if !guestFault(o.Path) {
					t.Errorf("event %d: predicted a fault at %s, the engine did %v", q.event, answer, o.Path)
				}
			case strings.Contains(q.ask, "error code"):
				kinds["code"]++
				if !guestFault(o.Path) || "0x"+strconv.FormatUint(uint64(o.Fault.Code), 16) != answer {
					t.Errorf("event %d: predicted error code %s, the engine did %v %#x", q.event, answer, o.Path, uint32(o.Fault.Code))
				}
			case strings.Contains(q.ask, "guest-physical address"):
				kinds["gpa"]++
				if !o.OK || "0x"+strconv.FormatUint(uint64(o.GPA), 16) != answer {
					t.Errorf("event %d: predicted %s, the engine reached %#x (ok %v)", q.event, answer, uint64(o.GPA), o.OK)
				}
			case strings.Contains(q.ask, "Dirty bit"):
				kinds["dirty"]++
				// Set now, by the write (or already before): either way
				// the guest's leaf is dirty after it.
				w := a.p.eng.GuestWalk(x86.GVA(o.Event.Addr), x86.Access{Kind: x86.Read})
				if leaf := w.Leaf(); !o.OK || leaf == nil || !leaf.Entry.Dirty() {
					t.Errorf("event %d: after the write the guest's leaf is not dirty (ok %v)", q.event, o.OK)
				}
			case strings.Contains(q.ask, "memory references"):
				kinds["refs"]++
				a.SetView(viz.ViewWalk)
				if !hasText(a, "2D walk: "+answer+" memory references") {
					t.Errorf("event %d: predicted %s references; the walk inspector says otherwise", q.event, answer)
				}
			default:
				t.Errorf("unknown question %q", q.ask)
			}
			a.Update(Input{Keys: []Key{KeyEscape}})
			if a.quiz != nil {
				t.Fatal("Esc left the question open")
			}
		}
		t.Logf("%s: %v", paging, kinds)
		if kinds["level"] == 0 || kinds["code"] == 0 || kinds["gpa"] == 0 || kinds["dirty"] == 0 {
			t.Errorf("%s: question kinds asked %v", paging, kinds)
		}
		if paging == "nested" && kinds["refs"] == 0 {
			t.Errorf("nested: no question on the 2D walk")
		}
		// The link carries the score.
		got, err := DecodeState(a.State().Encode())
		if err != nil || got.Score != want {
			t.Errorf("the link's score: %+v (%v), want %+v", got.Score, err, want)
		}
	}
}

// guestFault reports whether path delivers a page fault to the guest:
// its own tables', or one SMEP, SMAP or a protection key refused.
func guestFault(p engine.Path) bool {
	switch p {
	case engine.PathGuestFault, engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault:
		return true
	}
	return false
}
