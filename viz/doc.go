// Package viz turns engine state into a display list of primitives
// (rectangles, lines, text, blocks of cells) with hit regions, laid out
// by view (overview, hierarchy, memory, walk, intermediate) for frames
// from 1024x640 to 4K. Two renderers play the lists: the PNG renderer
// here (RenderPNG, for `explorer render` and the golden tests) and the
// Ebiten front end, which lives elsewhere: viz never imports Ebiten, so
// headless programs and the browser build can use it.
package viz
