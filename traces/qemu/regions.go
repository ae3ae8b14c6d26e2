package qemu

// regions groups the present leaves into Regions and counts them.
func (s *Snapshot) regions(o Options) error {
	var cur *Region
	return s.Tables.Leaves(func(l Leaf) bool {
		s.Stats.Leaves++
		end := l.VA + l.Size
		if cur != nil && cur.User == l.User && cur.Write == l.Write && cur.NX == l.NX &&
			l.VA >= cur.End && l.VA-cur.End <= regionGap {
			cur.End = end
			cur.Leaves++
			return true
		}
		s.Regions = append(s.Regions, Region{Start: l.VA, End: end, Leaves: 1, User: l.User, Write: l.Write, NX: l.NX, FirstPA: l.PA, FirstLen: l.Size})
		cur = &s.Regions[len(s.Regions)-1]
		return true
	})
}

// samples are the addresses to read: the first byte of every region (of
// every leaf with AllLeaves), split into user (read at CPL 3) and kernel
// (CPL 0) addresses, thinned evenly to MaxSamples.
func (s *Snapshot) samples(o Options) (user, kernel []uint64) {
	var all []uint64
	if o.AllLeaves {
		s.Tables.Leaves(func(l Leaf) bool { all = append(all, l.VA); return true })
	} else {
		for _, r := range s.Regions {
			all = append(all, r.Start)
		}
		limit := o.MaxSamples
		if limit <= 0 {
			limit = DefaultMaxSamples
		}
		if len(all) > limit {
			thin := make([]uint64, 0, limit)
			for i := 0; i < limit; i++ {
				thin = append(thin, all[i*len(all)/limit])
			}
			all = thin
		}
	}
	for _, va := range all {
		if s.isUser(va) {
			user = append(user, va)
		} else {
			kernel = append(kernel, va)
		}
	}
	return user, kernel
}
