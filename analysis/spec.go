package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// ApplySpec puts a configuration spec over cfg (a trace header's): a
// comma-separated list of key=value with the keys replay's overrides
// have, paging=shadow|nested|ept, host=MODE, pool=PAGES, and
// dirty-pt=on|off. An empty spec changes nothing.
func ApplySpec(cfg engine.Config, spec string) (engine.Config, error) {
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cfg, fmt.Errorf("%q: want key=value (paging, host, pool or dirty-pt)", kv)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "paging":
			p, err := engine.ParsePaging(v)
			if err != nil {
				return cfg, err
			}
			cfg.Paging = p
		case "host":
			h, err := engine.ParseHostMode(v)
			if err != nil {
				return cfg, err
			}
			cfg.Host = h
		case "pool":
			n, err := strconv.Atoi(v)
			if err != nil || n < engine.MinPoolPages || n > engine.MaxPoolPages {
				return cfg, fmt.Errorf("pool %q: want %d..%d pages", v, engine.MinPoolPages, engine.MaxPoolPages)
			}
			cfg.PoolPages = n
		case "dirty-pt":
			switch v {
			case "on", "true", "1":
				cfg.DirtyPT = true
			case "off", "false", "0":
				cfg.DirtyPT = false
			default:
				return cfg, fmt.Errorf("dirty-pt %q: want on or off", v)
			}
		default:
			return cfg, fmt.Errorf("unknown key %q (want paging, host, pool or dirty-pt)", k)
		}
	}
	return cfg, nil
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
