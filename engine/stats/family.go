package stats

import (
	"fmt"
	"strconv"
	"strings"
)

// maxFamily caps a family's size: the largest family of the original is a
// page directory's 1024 entries, and every member name is made up front.
const maxFamily = 1 << 16

// Family is an array of counters that share a description and a unit and
// are named by a pattern with one integer verb, such as the per-PD-index
// counts "/PGM/PDSyncPT/%04X". It stores one uint64 per member; only the
// members that are not zero are listed by the registry's readers, so a
// family of 1024 costs nothing to display until it is used. A nil *Family
// ignores every call.
type Family struct {
	v       []uint64
	pattern string
	prefix  string   // the pattern up to its verb: every member name starts so
	names   []string // member names, made on first use (an engine registers
	// families of a thousand members and often never reads them)
}

// Inc adds one to member i. Precondition: 0 <= i < Len(); an index out of
// range panics, as for a slice, because it means the caller computed the
// index wrongly.
func (f *Family) Inc(i int) {
	if f != nil {
		f.v[i]++
	}
}

// Add adds n to member i. Precondition: 0 <= i < Len().
func (f *Family) Add(i int, n uint64) {
	if f != nil {
		f.v[i] += n
	}
}

// Value is member i's count. Precondition: 0 <= i < Len().
func (f *Family) Value(i int) uint64 {
	if f == nil {
		return 0
	}
	return f.v[i]
}

// Len is the number of members.
func (f *Family) Len() int {
	if f == nil {
		return 0
	}
	return len(f.v)
}

// Name is member i's statistic name. Precondition: 0 <= i < Len().
func (f *Family) Name(i int) string {
	if f.names == nil {
		f.names = make([]string, len(f.v))
	}
	if f.names[i] == "" {
		f.names[i] = fmt.Sprintf(f.pattern, i)
	}
	return f.names[i]
}

// member reports which member of f, if any, name is: the number between
// the pattern's prefix and suffix, read in the verb's base, must print
// back to exactly name.
func (f *Family) member(name string) (int, bool) {
	verb := strings.IndexByte(f.pattern, '%')
	end := verb + 1
	for end < len(f.pattern) && f.pattern[end] >= '0' && f.pattern[end] <= '9' {
		end++
	}
	suffix := f.pattern[end+1:]
	if !strings.HasPrefix(name, f.prefix) || !strings.HasSuffix(name, suffix) || len(name) < len(f.prefix)+len(suffix)+1 {
		return 0, false
	}
	base := 10
	if f.pattern[end] != 'd' {
		base = 16
	}
	n, err := strconv.ParseUint(name[len(f.prefix):len(name)-len(suffix)], base, 32)
	if err != nil || n >= uint64(len(f.v)) || f.Name(int(n)) != name {
		return 0, false
	}
	return int(n), true
}

// familyNames checks pattern and returns the n member names, or the
// reason the pattern is malformed. A pattern has exactly one verb,
// %d, %x or %X with an optional 0 flag and width, and no other '%';
// every member name must itself be a valid name.
func familyNames(pattern string, n int) (prefix string, err error) {
	if n <= 0 || n > maxFamily {
		return "", fmt.Errorf("size %d is not in [1, %d]", n, maxFamily)
	}
	if strings.Count(pattern, "%") != 1 {
		return "", fmt.Errorf("want exactly one %% verb")
	}
	i := strings.IndexByte(pattern, '%') + 1
	for i < len(pattern) && pattern[i] >= '0' && pattern[i] <= '9' {
		i++
	}
	if i == len(pattern) || strings.IndexByte("dxX", pattern[i]) < 0 {
		return "", fmt.Errorf("the verb must be %%d, %%x or %%X with an optional width")
	}
	// Member names differ only in the number: the first and the last
	// (the widest) are valid exactly when all are.
	for _, k := range []int{0, n - 1} {
		if err := checkName(fmt.Sprintf(pattern, k)); err != nil {
			return "", fmt.Errorf("member %d: %w", k, err)
		}
	}
	return pattern[:strings.IndexByte(pattern, '%')], nil
}
