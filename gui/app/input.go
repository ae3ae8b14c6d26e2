package app

// Key is a key that is not a character: characters arrive as runes in
// Input.Chars, so that '?' or '[' work whatever the keyboard layout.
type Key uint8

const (
	KeyNone Key = iota
	KeyLeft
	KeyRight
	KeyUp
	KeyDown
	KeyHome
	KeyEnd
	KeyPageUp
	KeyPageDown
	KeyEnter
	KeyEscape
	KeyBackspace
	KeyTab
	KeyF1
)

// Input is what happened since the last tick.
type Input struct {
	Keys  []Key  // keys pressed in this tick (with auto-repeat)
	Chars []rune // characters typed in this tick
	Shift bool   // a Shift key is held
	Ctrl  bool   // a Control key is held

	MouseX, MouseY int  // cursor position in frame pixels
	MouseIn        bool // the cursor is over the frame
	Pressed        bool // the left button went down in this tick
	Down           bool // the left button is held
	Released       bool // the left button went up in this tick
	Wheel          float64
	// Clicks are presses of the left button the platform queued since
	// the last tick, in frame pixels, for platforms whose events can
	// come and go between two ticks (the browser): handled in order,
	// however short. A platform that queues sets them instead of Pressed.
	Clicks []Point
}

// Point is a position in frame pixels.
type Point struct{ X, Y int }

// Host is what the platform does for the app: saving exported files,
// the browser's file picker and its address bar. Every method may be a
// no-op.
type Host interface {
	// Save stores an exported file and says where it went.
	Save(name string, data []byte) (where string, err error)
	// PickFile opens the platform's file picker and reports whether it
	// did; the file then arrives through App.OpenData. Platforms without
	// one return false and the app asks for a path.
	PickFile() bool
	// SetLocation shows the state in the address bar (URL fragment).
	SetLocation(fragment string)
}

// NopHost saves nothing and has no file picker.
type NopHost struct{}

func (NopHost) Save(name string, _ []byte) (string, error) { return "", errNoSave }
func (NopHost) PickFile() bool                             { return false }
func (NopHost) SetLocation(string)                         {}
