// Package e2e holds the end-to-end tests of the interactive explorer:
// the browser demo in headless Chromium (driven by chromedp) and the
// desktop window under Xvfb. They need what `make e2e` builds and
// installs (bin/explorer, bin/explorer-gui, web/explorer.wasm, Debian's
// chromium, xvfb and imagemagick), hence the build tag e2e.
package e2e
