package app

import "fmt"

// ApplyLocation shows the state of a URL fragment that changed without
// a reload: the user edited the address bar, or went back or forward.
// A fragment of the source already open moves it (to the event, the
// address, the view) without replaying it from the start; another
// source is opened. A bad fragment leaves everything as it is and says
// why.
func (a *App) ApplyLocation(frag string) error {
	st, err := DecodeState(frag)
	if err != nil {
		a.setErr(err)
		return err
	}
	if st.Encode() == a.State().Encode() {
		return nil
	}
	if st.Sample == "" && st.Workload == "" && st.File == "" {
		st.Sample = DefaultSample
	}
	cur := a.State()
	if st.File != "" && (st.File != cur.File || a.p.src.Data == nil) {
		err := fmt.Errorf("this link was made for the file %s, which only its owner's browser had: open it again with the Open button", st.File)
		a.setErr(err)
		return err
	}
	if sourceKey(st) == sourceKey(cur) {
		a.Seek(st.Event)
	} else {
		if st.File != "" {
			st.Source = a.p.src // the file open here, with its data
		}
		if err := a.Open(st); err != nil {
			return err
		}
	}
	a.va, a.hasVA = st.VA, st.HasVA
	a.view = st.View
	if st.Score.Asked > 0 {
		a.score = st.Score
	}
	a.err = ""
	a.dirty = true
	return nil
}

// sourceKey is what must be equal for two states to show the same
// replay: the source and the configuration, not the moment or the view.
func sourceKey(s State) string {
	s.Data = nil
	s.Event, s.VA, s.HasVA, s.View, s.Score = 0, 0, false, 0, Score{}
	return s.Encode()
}
