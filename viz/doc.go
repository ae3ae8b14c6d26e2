// Package viz turns engine state into a display list of primitives
// (rectangles, lines, text) that the PNG and Ebiten renderers play. It
// never imports Ebiten. The panels arrive with the viz issue; the package
// exists now so the top-level layout is fixed from the start.
package viz
