package stats

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
)

// csvHeader is the first record of WriteCSV. Columns are only ever added
// at the end.
var csvHeader = []string{"name", "kind", "unit", "value", "calls", "total_ns", "description"}

// WriteCSV writes every statistic Each visits as RFC 4180 CSV: a header
// record, then one record per sample with the columns
//
//	name, kind, unit, value, calls, total_ns, description
//
// kind and unit are the String forms of Kind and Unit, the numbers are
// decimal, and calls and total_ns are 0 except for profiles.
func (r *Registry) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	var err error
	r.Each(func(s Sample) {
		if err != nil {
			return
		}
		err = cw.Write([]string{
			s.Name, s.Kind.String(), s.Unit.String(),
			strconv.FormatUint(s.Value, 10),
			strconv.FormatUint(s.Calls, 10),
			strconv.FormatUint(s.TotalNS, 10),
			s.Desc,
		})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// jsonSample is the JSON form of a Sample; the field order is the order
// in the output.
type jsonSample struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Unit    string `json:"unit"`
	Value   uint64 `json:"value"`
	Calls   uint64 `json:"calls"`
	TotalNS uint64 `json:"total_ns"`
	MinNS   uint64 `json:"min_ns"`
	MaxNS   uint64 `json:"max_ns"`
	Desc    string `json:"description"`
}

// WriteJSON writes every statistic Each visits as one JSON array, one
// object per line:
//
//	[
//	{"name":"/PGM/Pool/Alloc","kind":"profile","unit":"ns/call","value":1250,"calls":4,"total_ns":5000,"min_ns":500,"max_ns":2000,"description":"..."},
//	...
//	]
//
// Every object has all nine fields in that order, whatever the kind;
// calls, total_ns, min_ns and max_ns are 0 except for profiles, and
// value has the meaning of Sample.Value. An empty registry writes "[]".
// The numbers are exact integers; a JavaScript reader loses precision
// above 2^53, which no count of a replay reaches.
func (r *Registry) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	sep := "\n"
	var obj bytes.Buffer
	enc := json.NewEncoder(&obj)
	enc.SetEscapeHTML(false) // descriptions may say "<" and "&"; keep them readable
	var err error
	r.Each(func(s Sample) {
		if err != nil {
			return
		}
		obj.Reset()
		err = enc.Encode(jsonSample{
			Name: s.Name, Kind: s.Kind.String(), Unit: s.Unit.String(),
			Value: s.Value, Calls: s.Calls, TotalNS: s.TotalNS, MinNS: s.MinNS, MaxNS: s.MaxNS,
			Desc: s.Desc,
		})
		bw.WriteString(sep)
		bw.Write(bytes.TrimSuffix(obj.Bytes(), []byte("\n")))
		sep = ",\n"
	})
	if err != nil {
		return err
	}
	if sep != "\n" {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
