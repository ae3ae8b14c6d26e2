# PGM Explorer. The two commands a fresh machine with Go needs:
#   make demo   build and run the demo (see README)
#   make test   every check the project has (what CI runs)
# Targets install what they need themselves and are idempotent.

GO      ?= go
BIN     := bin
SAMPLE  ?= traces/samples/modes.txt
WASMPKG := ./engine/... ./traces/... ./wasm/...

.PHONY: all build test fmt-check vet unit wasm-check bench demo wasm clean

all: build

build:
	$(GO) build -o $(BIN)/explorer ./cmd/explorer

## test: gofmt, go vet, unit tests under the race detector, and the
## js/wasm build of every package that must run in the browser.
test: fmt-check vet unit wasm-check

fmt-check:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet $(WASMPKG)

unit:
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

## traces: the large synthetic traces (package traces/internal/synth) in
## traces/large, which git ignores: 1M and 10M events in the binary form,
## 1M in the text form too, for benchmarks and long replays.
.PHONY: traces
traces:
	$(GO) run ./traces/internal/mktraces -o traces/large -events 1M,10M -text 1M

## bench-large: the 100M-event trace (260 MB) that BenchmarkReplayRSS
## compares with the 10M one, to show that replay memory does not grow
## with the trace; then the benchmarks that use it.
.PHONY: bench-large
bench-large:
	$(GO) run ./traces/internal/mktraces -o traces/large -events 10M,100M -text ""
	$(GO) test -run '^$$' -bench '^BenchmarkReplayRSS$$' -benchtime=1x ./cmd/explorer

## wasm: the browser build of the engine (no UI yet: it replays a sample
## trace and prints statistics into the page).
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o web/explorer.wasm ./wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js

## demo: until the interactive UI lands, a headless replay of a sample
## trace through the shadow engine, with its outcomes and statistics.
demo: build
	$(BIN)/explorer replay --outcomes=jsonl --stats $(SAMPLE)

clean:
	rm -rf $(BIN) web/explorer.wasm web/wasm_exec.js
