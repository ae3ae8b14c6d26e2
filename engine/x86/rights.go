package x86

import (
	"fmt"
	"strings"
)

// Rule names one access-rights rule of the paging unit: the reason a
// translation (or an access through it) was refused. The numbers may be
// shown and stored by tools: a test pins them.
type Rule uint8

const (
	RuleNone         Rule = 0
	RuleNotPresent   Rule = 1  // an entry on the path has P=0
	RuleReserved     Rule = 2  // a present entry has a must-be-zero bit set
	RuleNonCanonical Rule = 3  // IA-32e: the address is not canonical (#GP)
	RuleUser         Rule = 4  // a user access to a supervisor page
	RuleReadOnly     Rule = 5  // a write to a read-only page (user, or supervisor with CR0.WP=1)
	RuleNoExec       Rule = 6  // a fetch from a no-execute page
	RuleSMEP         Rule = 7  // CR4.SMEP: a supervisor fetch from a user page
	RuleSMAP         Rule = 8  // CR4.SMAP: a supervisor data access to a user page with AC=0
	RuleKeyAccess    Rule = 9  // PKRU.AD of the page's key: no data access
	RuleKeyWrite     Rule = 10 // PKRU.WD of the page's key: no write
	ruleMax          Rule = 11
)

var ruleNames = [ruleMax]string{
	"none", "not present", "reserved bit set", "non-canonical address",
	"user access to a supervisor page", "write to a read-only page", "fetch from a no-execute page",
	"SMEP: supervisor fetch from a user page", "SMAP: supervisor data access to a user page with AC=0",
	"protection key: access disabled", "protection key: write disabled",
}

func (r Rule) String() string {
	if r < ruleMax {
		return ruleNames[r]
	}
	return fmt.Sprintf("Rule(%d)", uint8(r))
}

// Modern reports whether r is one of the rules of SMEP, SMAP or keys.
func (r Rule) Modern() bool { return r >= RuleSMEP && r < ruleMax }

// RuleSet is a set of rules (bit r for Rule r).
type RuleSet uint16

// Has reports whether r is in the set.
func (s RuleSet) Has(r Rule) bool { return s&(1<<r) != 0 }

// Keys reports whether a protection key is among the rules: the #PF error
// code then has PK set.
func (s RuleSet) Keys() bool { return s&(1<<RuleKeyAccess|1<<RuleKeyWrite) != 0 }

// rulePriority is the order in which Fault.Rule names one of several
// refusing rules: the features a guest turned on first (they are what a
// reader of the fault looks for), then the entries' own rights. The
// user/supervisor rule never meets the modern ones (they concern user
// pages accessed by the supervisor, or keys, which a user page has).
var rulePriority = [...]Rule{RuleSMEP, RuleSMAP, RuleKeyAccess, RuleKeyWrite, RuleUser, RuleReadOnly, RuleNoExec}

// First is the rule a fault names when the set refuses an access.
func (s RuleSet) First() Rule {
	for _, r := range rulePriority {
		if s.Has(r) {
			return r
		}
	}
	return RuleNone
}

func (s RuleSet) String() string {
	var names []string
	for r := RuleNone + 1; r < ruleMax; r++ {
		if s.Has(r) {
			names = append(names, r.String())
		}
	}
	return "{" + strings.Join(names, "; ") + "}"
}

// Protect is the processor state behind the rights that entries alone do
// not decide: CR4.SMEP, CR4.SMAP with RFLAGS.AC, CR4.PKE with PKRU. The
// zero value turns every one of them off (the rules of a 2009 CPU).
type Protect struct {
	SMEP, SMAP bool
	AC         bool // RFLAGS.AC: SMAP lets the supervisor at user pages
	PKE        bool
	PKRU       uint32 // bit 2k: key k access-disabled; bit 2k+1: write-disabled
}

// Refused returns every rule that refuses access acc to a translation
// with effective rights r (accumulated over the whole walk) and leaf
// protection key key. keys says the format has keys (IA-32e paging);
// wp is CR0.WP. An empty set means the access may proceed.
func (p Protect) Refused(r Rights, key uint8, keys bool, acc Access, wp bool) RuleSet {
	var set RuleSet
	userPage := r&RightUser != 0
	if acc.User && !userPage {
		set |= 1 << RuleUser
	}
	switch acc.Kind {
	case Write:
		if r&RightWrite == 0 && (acc.User || wp) {
			set |= 1 << RuleReadOnly
		}
	case Fetch:
		if r&RightExec == 0 {
			set |= 1 << RuleNoExec
		}
	}
	if !userPage {
		return set
	}
	if !acc.User {
		switch {
		case acc.Kind == Fetch && p.SMEP:
			set |= 1 << RuleSMEP
		case acc.Kind != Fetch && p.SMAP && !p.AC:
			set |= 1 << RuleSMAP
		}
	}
	if keys && p.PKE && acc.Kind != Fetch {
		if p.PKRU>>(2*key)&1 != 0 {
			set |= 1 << RuleKeyAccess
		}
		if acc.Kind == Write && p.PKRU>>(2*key+1)&1 != 0 && (acc.User || wp) {
			set |= 1 << RuleKeyWrite
		}
	}
	return set
}

// Reason says in words why the access faulted, e.g. "SMAP: supervisor
// write of a user page with AC=0" or "key 3: write disabled"; a fault with
// PK set that names another rule first adds the key's.
func (f Fault) Reason() string {
	if f.Kind == NoFault {
		return "no fault"
	}
	s := f.ruleText(f.Rule)
	if f.Rules.Keys() && f.Rule != RuleKeyAccess && f.Rule != RuleKeyWrite {
		k := RuleKeyAccess
		if !f.Rules.Has(k) {
			k = RuleKeyWrite
		}
		s += "; " + f.ruleText(k)
	}
	return s
}

func (f Fault) ruleText(r Rule) string {
	switch r {
	case RuleSMAP:
		what := "read"
		if f.Code&PFWrite != 0 {
			what = "write"
		}
		return "SMAP: supervisor " + what + " of a user page with AC=0"
	case RuleKeyAccess:
		return fmt.Sprintf("key %d: access disabled", f.Key)
	case RuleKeyWrite:
		return fmt.Sprintf("key %d: write disabled", f.Key)
	case RuleNone:
		return f.Kind.String()
	}
	return r.String()
}
