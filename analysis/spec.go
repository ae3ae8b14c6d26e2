package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// ApplySpec puts a configuration spec over cfg (a trace header's): a
// comma-separated list of key=value with the keys replay's overrides
// have, paging=shadow|nested|ept, host=MODE, pool=PAGES, and
// dirty-pt=on|off. An empty spec changes nothing.
func ApplySpec(cfg engine.Config, spec string) (engine.Config, error) {
	o, err := ParseSpec(spec)
	if err != nil {
		return cfg, err
	}
	return o.Apply(cfg)
}

// ParseSpec reads a configuration spec (see ApplySpec) as overrides.
func ParseSpec(spec string) (session.Overrides, error) {
	var o session.Overrides
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, fmt.Errorf("%q: want key=value (paging, host, pool or dirty-pt)", kv)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "paging":
			p, err := engine.ParsePaging(v)
			if err != nil {
				return o, err
			}
			o.Paging, o.PagingSet = p, true
		case "host":
			h, err := engine.ParseHostMode(v)
			if err != nil {
				return o, err
			}
			o.Host = h
		case "pool":
			n, err := strconv.Atoi(v)
			if err != nil || n < engine.MinPoolPages || n > engine.MaxPoolPages {
				return o, fmt.Errorf("pool %q: want %d..%d pages", v, engine.MinPoolPages, engine.MaxPoolPages)
			}
			o.Pool = n
		case "dirty-pt":
			switch v {
			case "on", "true", "1":
				o.DirtyPT, o.DirtySet = true, true
			case "off", "false", "0":
				o.DirtyPT, o.DirtySet = false, true
			default:
				return o, fmt.Errorf("dirty-pt %q: want on or off", v)
			}
		default:
			return o, fmt.Errorf("unknown key %q (want paging, host, pool or dirty-pt)", k)
		}
	}
	return o, nil
}

// DescribeConfig is a configuration in the spec's own terms.
func DescribeConfig(cfg engine.Config) string {
	c, err := cfg.Normalized()
	if err == nil {
		cfg = c
	}
	dp := "off"
	if cfg.DirtyPT {
		dp = "on"
	}
	return fmt.Sprintf("paging=%s,host=%s,pool=%d,dirty-pt=%s", cfg.Paging, hostName(cfg.Host), cfg.PoolPages, dp)
}

func hostName(h engine.HostMode) string {
	for _, n := range engine.HostModeNames() {
		if g, err := engine.ParseHostMode(n); err == nil && g == h {
			return n
		}
	}
	return fmt.Sprint(h)
}
