package workload

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Info describes a registered workload.
type Info struct {
	Name    string
	Summary string // one line
	// Events is how many events `explorer record` produces by default:
	// the whole run for workloads that end by themselves, a sample of a
	// workload that runs for ever.
	Events int
	Params []Param // in the order they are documented
}

// Param is one parameter of a workload.
type Param struct {
	Name    string
	Default string
	Help    string // meaning, with the accepted values
	// check validates a value; nil accepts anything.
	check func(string) error
}

// Errors of the registry, matched with errors.Is.
var (
	ErrUnknown    = errors.New("unknown workload")
	ErrParam      = errors.New("unknown parameter")
	ErrParamValue = errors.New("bad parameter value")
)

// spec is a registry entry: the description and the constructor, which
// gets every parameter with a validated value (defaults filled in).
type spec struct {
	Info
	build func(seed uint64, a args) (Workload, error)
}

var registry []*spec

// register adds a workload; workloads call it from init.
func register(s *spec) {
	if _, ok := lookup(s.Name); ok {
		panic("workload: " + s.Name + " registered twice")
	}
	for _, p := range s.Params {
		if err := p.validate(p.Default); err != nil {
			panic(fmt.Sprintf("workload %s: default of %s: %v", s.Name, p.Name, err))
		}
	}
	registry = append(registry, s)
	slices.SortFunc(registry, func(a, b *spec) int { return strings.Compare(a.Name, b.Name) })
}

func lookup(name string) (*spec, bool) {
	for _, s := range registry {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Names lists the registered workloads, sorted.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name
	}
	return names
}

// Describe returns the description of the named workload.
func Describe(name string) (Info, error) {
	s, ok := lookup(name)
	if !ok {
		return Info{}, unknown(name)
	}
	info := s.Info
	info.Params = slices.Clone(info.Params)
	return info, nil
}

func unknown(name string) error {
	return fmt.Errorf("%w %q (want one of %s)", ErrUnknown, name, strings.Join(Names(), ", "))
}

// New builds the named workload with the given seed and parameters;
// parameters not given take their defaults.
func New(name string, seed uint64, params map[string]string) (Workload, error) {
	s, ok := lookup(name)
	if !ok {
		return nil, unknown(name)
	}
	a := args{}
	for _, p := range s.Params {
		a[p.Name] = p.Default
	}
	given := make([]string, 0, len(params))
	for k := range params {
		given = append(given, k)
	}
	slices.Sort(given) // the first error reported does not depend on map order
	for _, k := range given {
		p, ok := s.param(k)
		if !ok {
			return nil, fmt.Errorf("workload %s: %w %q (want %s)", name, ErrParam, k, s.paramNames())
		}
		if err := p.validate(params[k]); err != nil {
			return nil, fmt.Errorf("workload %s: %w: %s=%s: %v", name, ErrParamValue, k, params[k], err)
		}
		a[k] = params[k]
	}
	w, err := s.build(seed, a)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", name, err)
	}
	return w, nil
}

// Meta keys of a recorded workload's header.
const (
	MetaWorkload    = "workload"
	MetaSeed        = "seed"
	MetaParamPrefix = "param."
)

// NewFromMeta rebuilds the workload a trace header's metadata names
// (see Header), so that a recording can be made again.
func NewFromMeta(meta map[string]string) (Workload, error) {
	name, ok := meta[MetaWorkload]
	if !ok {
		return nil, errors.New("metadata names no workload")
	}
	seed, err := strconv.ParseUint(meta[MetaSeed], 0, 64)
	if err != nil {
		return nil, fmt.Errorf("metadata: seed %q: %v", meta[MetaSeed], err)
	}
	params := map[string]string{}
	for k, v := range meta {
		if p, ok := strings.CutPrefix(k, MetaParamPrefix); ok {
			params[p] = v
		}
	}
	return New(name, seed, params)
}

// meta is the header metadata of a workload built from seed and a.
func (a args) meta(name string, seed uint64) map[string]string {
	m := map[string]string{MetaWorkload: name, MetaSeed: strconv.FormatUint(seed, 10)}
	for k, v := range a {
		m[MetaParamPrefix+k] = v
	}
	return m
}

func (s *spec) param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

func (s *spec) paramNames() string {
	if len(s.Params) == 0 {
		return "none: it takes no parameters"
	}
	var names []string
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	return "one of " + strings.Join(names, ", ")
}

func (p Param) validate(v string) error {
	if p.check == nil {
		return nil
	}
	return p.check(v)
}

// intParam is a decimal integer parameter in [lo, hi].
func intParam(name string, def, lo, hi int, help string) Param {
	return Param{Name: name, Default: strconv.Itoa(def),
		Help: fmt.Sprintf("%s (%d..%d)", help, lo, hi),
		check: func(v string) error {
			n, err := strconv.Atoi(v)
			switch {
			case err != nil:
				return errors.New("not a decimal integer")
			case n < lo || n > hi:
				return fmt.Errorf("outside %d..%d", lo, hi)
			}
			return nil
		}}
}

// choiceParam is one of a fixed set of words.
func choiceParam(name, def string, choices []string, help string) Param {
	return Param{Name: name, Default: def,
		Help: fmt.Sprintf("%s (%s)", help, strings.Join(choices, ", ")),
		check: func(v string) error {
			if !slices.Contains(choices, v) {
				return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
			}
			return nil
		}}
}

// boolParam is true or false.
func boolParam(name string, def bool, help string) Param {
	return choiceParam(name, strconv.FormatBool(def), []string{"true", "false"}, help)
}

// args are a workload's parameters, validated, defaults filled in.
type args map[string]string

func (a args) Int(name string) int {
	n, err := strconv.Atoi(a[name])
	if err != nil {
		panic("workload: parameter " + name + " read as an integer: " + err.Error())
	}
	return n
}

func (a args) String(name string) string { return a[name] }

func (a args) Bool(name string) bool { return a[name] == "true" }
