# PGM Explorer. The two commands a fresh machine with Go needs:
#   make demo   build and run the demo (see README)
#   make test   every check the project has (what CI runs)
# Targets install what they need themselves and are idempotent.

GO      ?= go
BIN     := bin
SAMPLE  ?= traces/samples/modes.txt
WASMPKG := ./engine/... ./traces/... ./analysis/... ./wasm/... ./gui/... ./web/...
ADDR    ?= 127.0.0.1:8080
E2E_OUT ?= $(CURDIR)/bin/e2e
# apt-get as root, else through sudo.
APT     := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
GUI_DEBS  := gcc libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev
XVFB_DEBS := xvfb xauth imagemagick

.PHONY: all build test fmt-check vet unit wasm-check bench demo wasm clean gui gui-deps browser-deps xvfb-deps e2e e2e-browser e2e-desktop

all: build

build:
	$(GO) build -o $(BIN)/explorer ./cmd/explorer

## test: gofmt, go vet, unit tests under the race detector (with the live
## x86 guests: `unicorn` installs what they need first; with the real
## Linux guest of traces/qemu: `linux-guest` boots it once), and the
## js/wasm build of every package that must run in the browser, and the
## end-to-end tests of the browser demo and the desktop window (e2e).
test: unicorn linux-guest fmt-check vet unit wasm-check e2e

fmt-check:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

vet: gui-deps
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e
	GOOS=js GOARCH=wasm $(GO) vet $(WASMPKG)

unit: gui-deps
	$(GO) test -race -count=1 ./...

wasm-check:
	GOOS=js GOARCH=wasm $(GO) build -o /dev/null $(WASMPKG)

## bench: the figures BENCHMARKS.md records, with the machine they ran on
## (under a minute here: three runs of each benchmark).
bench:
	@echo "date:    $$(date -u +%F)"
	@echo "machine: $$(nproc 2>/dev/null) CPUs, $$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
	@echo "go:      $$($(GO) version)"
	@echo "load:    $$(uptime | sed 's/.*load average: //') (1, 5, 15 min)"
	$(GO) test -run '^$$' -bench '^(BenchmarkWalk|BenchmarkNew4GiB|BenchmarkRead4|BenchmarkWrite4|BenchmarkRead4Scattered|BenchmarkTextReader|BenchmarkReferenceReplay)$$' -benchmem -count=3 ./engine/x86 ./engine/phys ./traces ./engine
	$(GO) test -run '^$$' -bench '^(BenchmarkTLBHitAccess|BenchmarkTLBHitApply|BenchmarkSyncPageFault|BenchmarkReplay|BenchmarkPoolCacheContextSwitch)$$' -benchmem -count=3 ./engine
	$(GO) test -run '^$$' -bench '^(BenchmarkBinaryReader|BenchmarkBinaryWriter|BenchmarkMsgpackPerField|BenchmarkSyntheticText)$$' -benchmem -count=3 ./traces
	$(GO) test -run '^$$' -bench '^BenchmarkTraceSize$$' -benchtime=1x ./traces
	-$(GO) test -run '^$$' -bench '^BenchmarkX86Live' -benchtime=3x -count=3 ./traces/x86live
	-$(GO) test -run '^$$' -bench '^(BenchmarkImportLinux|BenchmarkReplayImported)$$' -benchmem -count=3 ./traces/qemu
	-$(GO) test -run '^$$' -bench '^BenchmarkAttachSnapshot$$' -benchtime=10x -count=3 ./traces/qemu/gdb
	$(GO) test -run '^$$' -bench '^(BenchmarkSeekBuild|BenchmarkReplayLarge)$$' -benchtime=1x ./traces
	$(GO) test -run '^$$' -bench '^BenchmarkSeek$$' -benchtime=50x ./traces
	$(GO) test -run '^$$' -bench '^BenchmarkReplayRSS$$' -benchtime=1x ./cmd/explorer
	$(GO) test -run '^$$' -bench '^(BenchmarkLayout|BenchmarkRasterize$$|BenchmarkRenderPNG$$)' -benchmem -count=3 ./viz
	@if command -v node >/dev/null 2>&1; then \
		echo "WebAssembly under Node $$(node --version):"; \
		PATH="$$PATH:$$($(GO) env GOROOT)/lib/wasm" GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench '^BenchmarkReplay$$' -benchmem -count=3 ./engine; \
		PATH="$$PATH:$$($(GO) env GOROOT)/lib/wasm" GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench '^(BenchmarkBinaryReader|BenchmarkBinaryWriter|BenchmarkMsgpackPerField|BenchmarkSyntheticText)$$' -benchmem -count=3 ./traces; \
	else echo "node not found: the WebAssembly figures need Node.js (apt-get install nodejs)"; fi
	@echo "load:    $$(uptime | sed 's/.*load average: //') (1, 5, 15 min)"

## bench-ui: the interactive explorer's figures (BENCHMARKS.md, "The
## interactive explorer"): flat-out replay in the window's loop run
## headlessly, then the WebAssembly size, the time to the first frame,
## frames and events per second in headless Chromium and in the desktop
## window under Xvfb (e2e/bench_test.go). About two minutes; not part of
## make test, since the figures depend on the machine and its load.
.PHONY: bench-ui
bench-ui: build wasm gui browser-deps xvfb-deps
	@echo "date:    $$(date -u '+%F %H:%M') UTC"
	@echo "machine: $$(nproc 2>/dev/null) CPUs, $$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
	@echo "load:    $$(uptime | sed 's/.*load average: //') (1, 5, 15 min)"
	$(GO) test -run '^$$' -bench '^BenchmarkFlatOut$$' -benchtime=3x -count=3 ./gui/app
	BENCH_UI=1 xvfb-run -a -s "-screen 0 1400x900x24" $(GO) test -tags e2e -count=1 -run '^TestBenchUI$$' -v ./e2e
	@echo "load:    $$(uptime | sed 's/.*load average: //') (1, 5, 15 min)"

## soak: the random differential tests with many more guests and longer
## traces than make test gives them (40 guests of 12,000 events per
## configuration against 2 of 2,500), then the workloads with their
## default parameters: the runs that find what short ones miss. About 5
## minutes on 2 cores; not part of make test.
.PHONY: soak
soak:
	$(GO) test ./engine -count=1 -timeout 60m -run 'Diff|Differential|WellBehaved|DirtyPT|Matches' -diff.seeds 40 -diff.events 12000 -diff.full 128
	$(GO) test ./traces/workload -count=1 -timeout 30m -workload.long

## traces: the large synthetic traces (package traces/internal/synth) in
## traces/large, which git ignores: 1M and 10M events in the binary form,
## 1M in the text form too, for benchmarks and long replays.
.PHONY: traces
traces:
	$(GO) run ./traces/internal/mktraces -o traces/large -events 1M,10M -text 1M

## bench-analysis: analyze, compare, diff and export against plain
## replay on the large traces (`make traces` first; the 100M-event one
## too when `make bench-large` wrote it): CPU time, ratios, peak RSS.
.PHONY: bench-analysis
bench-analysis:
	ANALYSIS_ROUNDS=3 $(GO) test -timeout 60m -run '^$$' -bench '^BenchmarkAnalysisCommands$$' -benchtime=1x -v ./cmd/explorer

## bench-large: the 100M-event trace (260 MB) that BenchmarkReplayRSS
## compares with the 10M one, to show that replay memory does not grow
## with the trace; then the benchmarks that use it.
.PHONY: bench-large
bench-large:
	$(GO) run ./traces/internal/mktraces -o traces/large -events 10M,100M -text ""
	$(GO) test -run '^$$' -bench '^BenchmarkReplayRSS$$' -benchtime=1x ./cmd/explorer

## fonts: the Go fonts viz embeds, without the hinting programs the
## renderer never runs (viz/fonts/README.md); needs Debian's fontTools.
.PHONY: fonts
fonts:
	@/usr/bin/python3 -c 'import fontTools' 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3-fonttools; }
	$(GO) run ./viz/internal/mkfonts -o viz/fonts

## wasm: the browser demo (engine, panels and Ebiten) into web/, with the
## wasm_exec.js of the same Go installation.
## The module is built beside its final name, optimised for size by
## Debian's binaryen (wasm-opt -Os: about 4% smaller raw, 40 s here; the
## build must stay inside the budget e2e/budget_test.go checks), and
## renamed into place, so that a failed build never leaves half a module
## where `explorer serve` finds it.
WASM_OPT := wasm-opt -Os --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals
wasm: wasm-deps
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o web/.explorer.wasm.part ./wasm
	$(WASM_OPT) web/.explorer.wasm.part -o web/.explorer.wasm.opt
	mv web/.explorer.wasm.opt web/explorer.wasm
	rm -f web/.explorer.wasm.part
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js

.PHONY: wasm-deps
wasm-deps:
	@command -v wasm-opt >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq binaryen; }

## demo: build the browser demo and serve it on http://$(ADDR)/.
demo: build wasm
	$(BIN)/explorer serve --addr $(ADDR) --dir web

## gui: the desktop window (cgo, X11 and GL headers), started by
## `explorer gui`; it goes next to bin/explorer.
gui: gui-deps
	CGO_ENABLED=1 $(GO) build -o $(BIN)/explorer-gui ./cmd/explorer-gui

# The *-deps targets install Debian packages only when one is missing.
gui-deps:
	@missing=$$(for p in $(GUI_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; $(APT) update -qq && $(APT) install -y -qq $$missing; fi

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq chromium; }

xvfb-deps:
	@missing=$$(for p in $(XVFB_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; $(APT) update -qq && $(APT) install -y -qq $$missing; fi

## e2e: the browser demo in headless Chromium and the desktop window
## under Xvfb (with a live x86 guest: hence unicorn); screenshots go to
## $(E2E_OUT).
e2e: e2e-browser e2e-desktop

e2e-browser: build wasm browser-deps
	E2E_OUT=$(E2E_OUT) $(GO) test -tags e2e -count=1 -run 'TestBrowser|TestWASMBudget' ./e2e

e2e-desktop: build gui xvfb-deps unicorn
	E2E_OUT=$(E2E_OUT) xvfb-run -a -s "-screen 0 1400x900x24" $(GO) test -tags e2e -count=1 -run 'TestDesktop' ./e2e

clean:
	rm -rf $(BIN) web/explorer.wasm web/wasm_exec.js

## unicorn: what the live x86 guests (traces/x86live) need, installed only
## when missing: Debian's nasm, and Unicorn >= 2.1 (bookworm's 2.0 ignores
## guest page tables), taken from Debian trixie (libunicorn2t64, which
## needs only libc >= 2.34) with apt-get download through a private
## sources list, state and cache, so the system's apt setup is untouched,
## and unpacked into $(UNICORN_DIR), which git ignores.
UNICORN_DIR := .cache/unicorn
UNICORN_LIB := $(UNICORN_DIR)/usr/lib/x86_64-linux-gnu/libunicorn.so.2
.PHONY: unicorn x86-guests
unicorn: $(UNICORN_LIB)
	@command -v nasm >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq nasm; }

$(UNICORN_LIB):
	@set -e; d=$$(pwd)/$(UNICORN_DIR)/apt; rm -rf "$$d"; \
	mkdir -p "$$d/sources" "$$d/lists/partial" "$$d/cache/archives/partial" "$$d/deb"; \
	printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$$d/sources/trixie.sources"; \
	apt="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$$d/sources -o Dir::State::Lists=$$d/lists -o Dir::Cache=$$d/cache -o APT::Sandbox::User=root"; \
	apt-get $$apt update -qq; \
	cd "$$d/deb" && apt-get $$apt download libunicorn2t64; \
	dpkg-deb -x "$$d"/deb/libunicorn2t64_*.deb "$$d/.."; \
	echo "unicorn: $$(ls "$$d"/deb) unpacked into $(UNICORN_DIR)"

## x86-guests: reassemble the guest programs (their binaries are committed
## so that `go test` needs no nasm).
x86-guests: unicorn
	cd traces/x86live/guests && for f in *.asm; do nasm -f bin -o "$${f%.asm}.bin" "$$f"; done

## x86-samples: record live x86 guests (engine as MMU, shadow paging) as
## the sample traces traces/samples/x86-*.txt, so that the browser demo,
## where Unicorn cannot run, replays them too. TestX86Samples
## (cmd/explorer) checks that the committed ones are what this makes.
X86_SAMPLES := multiproc longmode modern
.PHONY: x86-samples
x86-samples: unicorn build
	for p in $(X86_SAMPLES); do $(BIN)/explorer record --x86 $$p -o traces/samples/x86-$$p.txt || exit 1; done
	$(GO) test ./traces/samples -run '^TestPack$$' -update

## linux-guest: a real Linux guest for the tests (traces/qemu): QEMU and
## busybox-static from apt when missing, Debian's current 6.1 kernel
## package taken with apt-get download (never installed) and unpacked
## into $(LINUX_DIR), which git ignores; then mklinux builds the
## initramfs, boots the guest under TCG (no network, monitor on a Unix
## socket), and keeps its cores, `info tlb` and `gva2gpa` answers there.
## A second run reuses them.
LINUX_DIR  := .cache/linux
LINUX_DEBS := qemu-system-x86 busybox-static
.PHONY: linux-guest linux-deps
linux-guest: linux-deps $(LINUX_DIR)/kernel/.done
	timeout 600 $(GO) run ./traces/qemu/internal/mklinux -cache $(LINUX_DIR)

linux-deps:
	@missing=$$(for p in $(LINUX_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $$missing; fi

$(LINUX_DIR)/kernel/.done:
	@set -e; d=$$(pwd)/$(LINUX_DIR); rm -rf "$$d/kernel" "$$d/deb"; mkdir -p "$$d/deb"; \
	pkg=$$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1[^ ]*-amd64\)$$/\1/p' | head -1); \
	if [ -z "$$pkg" ]; then $(APT) update -qq; pkg=$$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.1[^ ]*-amd64\)$$/\1/p' | head -1); fi; \
	test -n "$$pkg" || { echo "no linux-image-6.1 package for amd64 in apt's lists"; exit 1; }; \
	cd "$$d/deb" && timeout 300 apt-get -o APT::Sandbox::User=root download "$$pkg"; \
	dpkg-deb -x "$$d"/deb/*.deb "$$d/kernel"; rm -rf "$$d/deb"; \
	find "$$d/kernel" -type f ! -name 'vmlinuz-*' ! -name 'config-*' ! -name crc7.ko -delete; \
	ls "$$d"/kernel/boot/vmlinuz-* >/dev/null; touch "$$d/kernel/.done"; \
	echo "linux-guest: $$pkg unpacked into $(LINUX_DIR)/kernel"

## linux-sample: the sample trace traces/samples/linux.txt from a
## linux-guest core (a user process at CPL 3, the direct map, vmalloc,
## modules), with the PKRU memproc printed on the guest's console when
## it has keys (a core does not hold PKRU): by default the guest with
## 5-level paging, SMEP, SMAP and keys (LINUX_SAMPLE=4level: without).
LINUX_SAMPLE ?= 5level
.PHONY: linux-sample
linux-sample: linux-guest build
	pkru=$$(sed -n 's/.*memproc alpha.* pkru \(0x[0-9a-f]*\).*/--pkru \1/p' $(LINUX_DIR)/$(LINUX_SAMPLE)/console.log); \
	$(BIN)/explorer import --name "Debian 6.1 under QEMU, linux-guest $(LINUX_SAMPLE)" $$pkru -o traces/samples/linux.txt $(LINUX_DIR)/$(LINUX_SAMPLE)/core.elf
	$(GO) test ./traces/samples -run '^TestPack$$' -update
