package app

import (
	"math"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/engine/stats"
)

// appendJSON appends s as a JSON object with the keys of its json tags.
// It is written by hand so that the browser build does not carry
// encoding/json (about 70 KB of a gzipped download with a budget);
// TestStatusJSON checks it against encoding/json, so a field added to
// Status and not here fails that test.
func (s Status) appendJSON(b []byte) []byte {
	j := jsonObject{b: append(b, '{')}
	j.str("source", s.Source)
	j.uint("event", s.Event)
	j.uint("total", s.Total)
	j.bool("playing", s.Playing)
	j.bool("busy", s.Busy)
	j.bool("ended", s.Ended)
	j.str("speed", s.Speed)
	j.str("view", s.View)
	j.str("va", s.VA)
	j.bool("selected", s.Selected)
	j.str("walk", s.Walk)
	j.str("mode", s.Mode)
	j.str("label", s.Label)
	j.str("overlay", s.Overlay)
	j.str("error", s.Error)
	j.uint("frames", s.Frames)
	j.str("location", s.Location)
	j.str("host", s.Host)
	j.str("paging", s.Paging)
	j.int("pool", s.Pool)
	j.uint("matches", s.Matches)
	j.uint("searched", s.Searched)
	j.float("fps", s.FPS)
	j.key("costs")
	c := s.Costs
	k := jsonObject{b: append(j.b, '{')}
	k.float("seconds", c.Seconds)
	k.int("ticks", c.Ticks)
	k.int("pictures", c.Pictures)
	k.float("update", c.Update)
	k.float("layout", c.Layout)
	k.float("raster", c.Raster)
	k.float("upload", c.Upload)
	return append(append(k.b, '}'), '}')
}

// jsonObject appends the members of one JSON object.
type jsonObject struct {
	b    []byte
	more bool
}

func (j *jsonObject) key(k string) {
	if j.more {
		j.b = append(j.b, ',')
	}
	j.more = true
	j.b = append(append(append(j.b, '"'), k...), '"', ':')
}

func (j *jsonObject) str(k, v string) { j.key(k); j.b = stats.AppendJSONString(j.b, v) }
func (j *jsonObject) uint(k string, v uint64) {
	j.key(k)
	j.b = strconv.AppendUint(j.b, v, 10)
}
func (j *jsonObject) int(k string, v int) { j.key(k); j.b = strconv.AppendInt(j.b, int64(v), 10) }
func (j *jsonObject) bool(k string, v bool) {
	j.key(k)
	j.b = strconv.AppendBool(j.b, v)
}

// float writes a measured figure; JSON has no NaN or infinity, so those
// (a rate over an empty interval) are written as 0.
func (j *jsonObject) float(k string, v float64) {
	j.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	j.b = strconv.AppendFloat(j.b, v, 'g', -1, 64)
}
