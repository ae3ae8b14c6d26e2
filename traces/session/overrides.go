package session

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Overrides replace parts of a trace header's configuration, to look at
// the same guest under another configuration. Zero values keep the
// header's.
type Overrides struct {
	Host      engine.HostMode // engine.HostInvalid keeps the header's
	Paging    engine.Paging
	PagingSet bool // Paging is only used when this is set (its zero value is a mode)
	Pool      int  // pages, engine.MinPoolPages..engine.MaxPoolPages; 0 keeps the header's
	DirtyPT   bool
	DirtySet  bool // DirtyPT is only used when this is set
	// SnapshotLimit bounds the guest memory the snapshots of save events
	// hold together (0: engine.DefaultSnapshotBytes). It is not part of
	// the configuration: engines take it after they are built.
	SnapshotLimit uint64
}

// PoolError is a pool size outside engine.MinPoolPages..MaxPoolPages.
type PoolError struct{ Pages int }

func (e *PoolError) Error() string {
	return fmt.Sprintf("pool %d outside %d..%d pages", e.Pages, engine.MinPoolPages, engine.MaxPoolPages)
}

// Apply puts the overrides over cfg. The only error is a *PoolError.
func (o Overrides) Apply(cfg engine.Config) (engine.Config, error) {
	if o.Host != engine.HostInvalid {
		cfg.Host = o.Host
	}
	if o.PagingSet {
		cfg.Paging = o.Paging
	}
	if o.Pool != 0 {
		if o.Pool < engine.MinPoolPages || o.Pool > engine.MaxPoolPages {
			return cfg, &PoolError{o.Pool}
		}
		cfg.PoolPages = o.Pool
	}
	if o.DirtySet {
		cfg.DirtyPT = o.DirtyPT
	}
	return cfg, nil
}

// snapshotLimiter is an engine whose save events' memory can be bounded
// (both engines are).
type snapshotLimiter interface{ SetSnapshotLimit(uint64) }

func (o Overrides) limit(eng engine.Engine) {
	if sl, ok := eng.(snapshotLimiter); ok && o.SnapshotLimit != 0 {
		sl.SetSnapshotLimit(o.SnapshotLimit)
	}
}
