package x86

import "fmt"

// AccessKind is what the processor is doing with a linear address.
type AccessKind uint8

const (
	Read  AccessKind = iota
	Write            // data write
	Fetch            // instruction fetch
)

func (k AccessKind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	case Fetch:
		return "fetch"
	}
	return "access?"
}

// Access is one memory access as the paging unit sees it.
type Access struct {
	Kind AccessKind
	User bool // CPL 3
}

// ErrorCode is the #PF error code pushed by the processor.
type ErrorCode uint32

// #PF error-code bits.
const (
	PFPresent ErrorCode = 1 << 0 // set: protection or reserved bit; clear: not present
	PFWrite   ErrorCode = 1 << 1
	PFUser    ErrorCode = 1 << 2
	PFRsvd    ErrorCode = 1 << 3
	PFFetch   ErrorCode = 1 << 4 // I/D
	PFPK      ErrorCode = 1 << 5 // a protection key forbade the access
)

func (c ErrorCode) String() string { return fmt.Sprintf("%#x", uint32(c)) }

// FaultKind says why a translation failed.
type FaultKind uint8

const (
	NoFault      FaultKind = iota
	NotPresent             // an entry on the path has P = 0
	ReservedBit            // a present entry has a must-be-zero bit set
	Protection             // the walk succeeded but the rights forbid the access
	NonCanonical           // long mode: not a #PF but a #GP
)

var faultNames = [...]string{"none", "not present", "reserved bit", "protection", "non-canonical"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "fault?"
}

// Fault describes a failed translation. Level is the index of the step
// where the walk stopped (for Protection: the leaf).
type Fault struct {
	Kind  FaultKind
	Level int
	Code  ErrorCode
	// Rule is the rule that refused the access (see Rule for the order
	// when several do); Rules is every rule that refused it. Key is the
	// translation's protection key when a key rule is among them.
	Rule  Rule
	Rules RuleSet
	Key   uint8
}

// NonCanonicalFault is the #GP of a non-canonical address in IA-32e mode.
func NonCanonicalFault() Fault {
	return Fault{Kind: NonCanonical, Rule: RuleNonCanonical, Rules: 1 << RuleNonCanonical}
}

// IsPF reports whether the fault is a page fault (as opposed to #GP or none).
func (f Fault) IsPF() bool {
	return f.Kind == NotPresent || f.Kind == ReservedBit || f.Kind == Protection
}

func (f Fault) String() string {
	switch {
	case f.Kind == NoFault:
		return "no fault"
	case f.Kind == NonCanonical:
		return "#GP (non-canonical address)"
	}
	return fmt.Sprintf("#PF %s (%s)", f.Code, f.Kind)
}

// PageFaultCode builds the #PF error code for a fault of the given kind
// that no protection key caused. fetchBit says whether the I/D bit is
// reported in the current mode (CR4.SMEP, or EFER.NXE with PAE or long
// paging): see Root.FetchBit.
func PageFaultCode(kind FaultKind, acc Access, fetchBit bool) ErrorCode {
	return FaultCode(kind, acc, fetchBit, false)
}

// FaultCode builds the #PF error code; pk says a protection key forbade
// the access (PK is then set whatever else forbade it too). It is the
// only place error codes are made.
func FaultCode(kind FaultKind, acc Access, fetchBit, pk bool) ErrorCode {
	var c ErrorCode
	if pk {
		c |= PFPK
	}
	switch kind {
	case ReservedBit:
		c = PFPresent | PFRsvd
	case Protection:
		c = PFPresent
	}
	if acc.Kind == Write {
		c |= PFWrite
	}
	if acc.User {
		c |= PFUser
	}
	if acc.Kind == Fetch && fetchBit {
		c |= PFFetch
	}
	return c
}

// Permits reports whether effective rights r allow acc, given CR0.WP and
// whether NX is enforced. Supervisor writes to read-only pages succeed when
// WP is clear; user accesses need US at every level.
func (r Rights) Permits(acc Access, wp bool) bool {
	if acc.User && r&RightUser == 0 {
		return false
	}
	switch acc.Kind {
	case Write:
		return r&RightWrite != 0 || (!acc.User && !wp)
	case Fetch:
		return r&RightExec != 0
	}
	return true
}
