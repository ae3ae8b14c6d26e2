package stats

import (
	"fmt"
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
	v     []uint64
	names []string // names[i] is the member name for index i
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
func (f *Family) Name(i int) string { return f.names[i] }

// familyNames checks pattern and returns the n member names, or the
// reason the pattern is malformed. A pattern has exactly one verb,
// %d, %x or %X with an optional 0 flag and width, and no other '%';
// every member name must itself be a valid name.
func familyNames(pattern string, n int) ([]string, error) {
	if n <= 0 || n > maxFamily {
		return nil, fmt.Errorf("size %d is not in [1, %d]", n, maxFamily)
	}
	if strings.Count(pattern, "%") != 1 {
		return nil, fmt.Errorf("want exactly one %% verb")
	}
	i := strings.IndexByte(pattern, '%') + 1
	for i < len(pattern) && pattern[i] >= '0' && pattern[i] <= '9' {
		i++
	}
	if i == len(pattern) || strings.IndexByte("dxX", pattern[i]) < 0 {
		return nil, fmt.Errorf("the verb must be %%d, %%x or %%X with an optional width")
	}
	names := make([]string, n)
	for k := range names {
		names[k] = fmt.Sprintf(pattern, k)
		if err := checkName(names[k]); err != nil {
			return nil, fmt.Errorf("member %d: %w", k, err)
		}
	}
	return names, nil
}
