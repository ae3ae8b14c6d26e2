package app

// Costs is where the platform's time went over its last second of
// measure: what the benchmarks record, and what tells what limits the
// frame rate. Times are milliseconds per second of wall time.
type Costs struct {
	Seconds  float64 `json:"seconds"`  // length of the measure
	Ticks    int     `json:"ticks"`    // Update calls
	Pictures int     `json:"pictures"` // frames built, rasterised and uploaded
	Update   float64 `json:"update"`   // in Update: input and replay
	Layout   float64 `json:"layout"`   // building display lists (Frame)
	Raster   float64 `json:"raster"`   // rasterising them
	Upload   float64 `json:"upload"`   // handing the pixels to the GPU
}

// SetCosts tells the app what the platform measured, for Status.
func (a *App) SetCosts(c Costs) { a.costs = c }
