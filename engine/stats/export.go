package stats

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"unicode/utf8"
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
	var obj []byte
	r.Each(func(s Sample) {
		obj = appendJSONSample(obj[:0], s)
		bw.WriteString(sep)
		bw.Write(obj)
		sep = ",\n"
	})
	if sep != "\n" {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// appendJSONSample appends one object of WriteJSON. It is written by hand
// rather than with encoding/json because the browser build would
// otherwise carry encoding/json (about 70 KB of a gzipped
// download that has a budget); TestJSONLikeEncodingJSON keeps the two
// byte-identical.
func appendJSONSample(b []byte, s Sample) []byte {
	b = append(b, `{"name":`...)
	b = AppendJSONString(b, s.Name)
	b = append(b, `,"kind":`...)
	b = AppendJSONString(b, s.Kind.String())
	b = append(b, `,"unit":`...)
	b = AppendJSONString(b, s.Unit.String())
	for _, f := range [...]struct {
		name string
		v    uint64
	}{{"value", s.Value}, {"calls", s.Calls}, {"total_ns", s.TotalNS}, {"min_ns", s.MinNS}, {"max_ns", s.MaxNS}} {
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, f.v, 10)
	}
	b = append(b, `,"description":`...)
	b = AppendJSONString(b, s.Desc)
	return append(b, '}')
}

// AppendJSONString appends s as a JSON string the way encoding/json
// writes it with HTML escaping off: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped (JavaScript source
// cannot hold them raw), invalid UTF-8 replaced by U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
