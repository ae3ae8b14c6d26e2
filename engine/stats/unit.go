package stats

// Kind is what a statistic measures. The numbers are stable, and the
// names appear in the CSV and JSON exports.
type Kind uint8

const (
	KindInvalid Kind = 0
	KindCounter Kind = 1 // occurrences; also each member of a Family
	KindProfile Kind = 2 // calls and time per call
	KindGauge   Kind = 3 // sampled from a function when read
	kindMax     Kind = 4
)

var kindNames = [kindMax]string{"invalid", "counter", "profile", "gauge"}

func (k Kind) String() string {
	if k < kindMax {
		return kindNames[k]
	}
	return "unknown kind"
}

// Unit is what one count of a statistic stands for. The numbers are
// stable, and the names appear in every output.
type Unit uint8

const (
	UnitInvalid     Unit = 0
	UnitOccurrences Unit = 1 // things that happened
	UnitCalls       Unit = 2 // calls of a function
	UnitNsPerCall   Unit = 3 // the unit of every Profile
	UnitPages       Unit = 4
	UnitBytes       Unit = 5
	UnitCount       Unit = 6 // a number of objects (chunks, mappings, ...)
	unitMax         Unit = 7
)

var unitNames = [unitMax]string{"invalid", "occurrences", "calls", "ns/call", "pages", "bytes", "count"}

func (u Unit) String() string {
	if u < unitMax {
		return unitNames[u]
	}
	return "unknown unit"
}

func (u Unit) valid() bool { return u > UnitInvalid && u < unitMax }
