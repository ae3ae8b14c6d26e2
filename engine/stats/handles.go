package stats

import "time"

// Counter counts occurrences. Registry.Counter makes one; the engine keeps
// the pointer and calls Inc on its hot path. A nil *Counter ignores
// every call and reads as 0.
type Counter struct {
	n uint64
}

// Inc adds one. It is small enough to inline, so it costs an increment and
// a nil check.
func (c *Counter) Inc() {
	if c != nil {
		c.n++
	}
}

// Add adds n.
func (c *Counter) Add(n uint64) {
	if c != nil {
		c.n += n
	}
}

// Value is the count so far.
func (c *Counter) Value() uint64 {
	if c == nil {
		return 0
	}
	return c.n
}

// clock is the timing switch and time source shared by a registry's
// profiles, so that SetTiming affects every profile at once without
// walking them.
type clock struct {
	on   bool
	base time.Time    // monotonic origin of every Stamp
	fake func() int64 // tests only: replaces the real clock when non-nil
}

// now is nanoseconds since base, plus one so that a timed Stamp is never 0.
func (c *clock) now() int64 {
	if c.fake != nil {
		return c.fake() + 1
	}
	return int64(time.Since(c.base)) + 1
}

// Stamp is what Profile.Begin returns and Profile.End takes: the start of
// a timed call, or 0 for a call that is only counted. Keeping the start in
// the caller's frame, not in the Profile, lets calls of one profile nest
// (a profile of a recursive path) and costs no allocation.
type Stamp int64

// Profile counts the calls of a code path and, while the registry's
// timing is on, how long they take. Registry.Profile makes one. A nil
// *Profile ignores every call.
type Profile struct {
	calls uint64 // every End
	timed uint64 // Ends that were timed: the divisor of the mean
	total uint64 // ns, over timed calls
	min   uint64 // ns; ^0 until the first timed call
	max   uint64 // ns
	clk   *clock
}

func newProfile(clk *clock) *Profile { return &Profile{min: ^uint64(0), clk: clk} }

// Begin starts a call. With timing off it reads no clock and returns 0.
//
//	s := p.Begin()
//	...
//	p.End(s)
func (p *Profile) Begin() Stamp {
	if p == nil || !p.clk.on {
		return 0
	}
	return Stamp(p.clk.now())
}

// End finishes the call that Begin started. It always counts the call; it
// reads the clock only if the call was started with timing on and timing
// is still on, so that while timing is off no profile's time changes.
func (p *Profile) End(s Stamp) {
	if p == nil {
		return
	}
	p.calls++
	if s != 0 && p.clk.on {
		p.endTimed(s) // kept out of line so that End inlines
	}
}

func (p *Profile) endTimed(s Stamp) {
	ns := uint64(max(p.clk.now()-int64(s), 0)) // < 0 only for a fake clock
	p.timed++
	p.total += ns
	p.min = min(p.min, ns)
	p.max = max(p.max, ns)
}

// Calls is the number of finished calls, timed or not.
func (p *Profile) Calls() uint64 {
	if p == nil {
		return 0
	}
	return p.calls
}

func (p *Profile) reset() {
	*p = Profile{min: ^uint64(0), clk: p.clk}
}

// sample fills the profile's fields of s. Value is the mean over timed
// calls only, so switching timing off part-way does not drag it down.
func (p *Profile) sample(s *Sample) {
	s.Calls = p.calls
	s.TotalNS = p.total
	s.MaxNS = p.max
	if p.timed > 0 {
		s.MinNS = p.min
		s.Value = p.total / p.timed
	}
}
