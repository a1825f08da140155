# Tidings — the README's commands are targets here: `make demo` and `make test`.
SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO      ?= go
VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X main.version=$(VERSION)
OUT     := out
# staticcheck at a pinned version (run from the module proxy, cached after once)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all deps build test fmt-check vet lint tree-check reliability wine-test demo bench bench-build bench-nats icons clean \
        package package-linux package-windows package-test sign-test cross-check screenshots

all: build

deps:
	@scripts/deps

build: deps
	@mkdir -p $(OUT)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(OUT)/tidings ./cmd/tidings
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(OUT)/tidings-server ./cmd/tidings-server

fmt-check:
	@files=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...
	cd interop/gotify && $(GO) vet ./...

lint:
	$(GO) run $(STATICCHECK) ./...
	cd interop/gotify && $(GO) run $(STATICCHECK) ./...

# No tracked file is an executable or over 1 MB (scripts/tree-assets lists
# the exceptions).
tree-check:
	@scripts/tree-check

# The whole suite, integration tests included: every test package that needs a
# desktop starts its own private D-Bus session, gnome-keyring and Xvfb
# (internal/desktoptest); under CI=true a desktop that cannot start fails.
# conn's reliability checks time the engine in scaled-down seconds; they run
# on their own after the rest so other packages' tests do not starve them.
test: deps fmt-check tree-check vet lint
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/conn$$')
	$(GO) test -race -count=1 -timeout 10m ./conn/
	cd interop/gotify && $(GO) test -race -count=1 -timeout 10m ./...

# The reliability table with its timing asserted (TIDINGS_TIMING=1: make
# test only logs the figures, so that it passes on a busy machine), plus the
# server's 200-desktop restart herds, timed.
reliability:
	TIDINGS_TIMING=1 $(GO) test -race -count=1 -timeout 10m -v -run 'TwoHundredDesktops' ./server/ 2>&1 | \
	  grep -E '^(--- |ok|FAIL|\s+restart_test.go)'; exit $${PIPESTATUS[0]}
	TIDINGS_TIMING=1 TIDINGS_KNOWN_FAILURES=1 $(GO) test -race -count=1 -timeout 10m -v -run 'TestReliability' ./conn/ 2>&1 | \
	  grep -Ev '^(=== (RUN|PAUSE|CONT)|\s+helpers_test.go)'; exit $${PIPESTATUS[0]}
	cd interop/gotify && TIDINGS_TIMING=1 TIDINGS_KNOWN_FAILURES=1 $(GO) test -race -count=1 -v -run 'Reliability' ./... 2>&1 | \
	  grep -E '^(--- |\s+--- |ok|FAIL|\s+\S+_test.go:[0-9]+: (figures|.*: [0-9.]+m?s \(bound))' | \
	  grep -Ev 'restart [0-9]+: reconnected'; exit $${PIPESTATUS[0]}
	# issue 19's client-level cases: real server, history file, keyring, bus
	$(GO) test -race -count=1 -timeout 10m -v -run 'FullDisk|ShortCatchUp|NtfyResume|RealNtfy|UnusableHistory|Refetched|SettingsCannotBeWritten|IDsRestartLower|RestoredFromABackup|LoggedInToLast' ./client/ 2>&1 | \
	  grep -E '^(--- |\s+--- |ok|FAIL|\s+\S+_test.go:[0-9]+: (on the|figures))'; exit $${PIPESTATUS[0]}

demo: build
	@scripts/demo

# The README's pictures (docs/screenshots/): the real app under Xvfb with a real
# panel (xfce4-panel) and window manager (xfwm4), in English and Chinese.
screenshots: build
	@scripts/deps screenshots
	scripts/screenshots

# Benchmarks (bench/e2e): the real app under Xvfb in a private desktop, each
# figure next to a baseline from the same run; writes BENCHMARKS.md. About
# 10-15 min on 2 cores once built; BENCH_QUICK=1 scales it down (~4 min).
bench-build: deps
	@mkdir -p $(OUT)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(OUT)/tidings ./cmd/tidings
	$(GO) build -o $(OUT)/baretray ./bench/baretray
	$(GO) build -o $(OUT)/serverload ./bench/serverload
	$(GO) build -o $(OUT)/history-bench ./bench/history
	$(GO) build -o $(OUT)/bench-e2e ./bench/e2e
	cd interop/gotify && $(GO) build -o ../../$(OUT)/gotifyload ./cmd/gotifyload

bench: bench-build
	$(OUT)/bench-e2e -app $(OUT)/tidings -bare $(OUT)/baretray -serverload $(OUT)/serverload \
	  -history $(OUT)/history-bench -gotifyload $(OUT)/gotifyload -logs $(OUT)/bench -out BENCHMARKS.md

icons:
	cd assets/src && for f in *.svg; do n=$${f%.svg}; s=64; [ $$n = icon ] && s=256; \
	  convert -background none -density 600 $$f -resize $${s}x$${s} ../$$n.png; done

# Release packages into out/ (scripts/package): the fyne CLI and nfpm are installed
# if missing; Linux tar.xz + .deb + .rpm, and the Windows GUI .exe cross-built with
# mingw-w64 (cold: several minutes), signed when SIGN_CERT and SIGN_KEY are set.
# The version is FyneApp.toml's; FyneApp.toml itself is left untouched.
package: package-linux package-windows sign-test
	@cat $(OUT)/timings.txt 2>/dev/null | tail -6; ls -l $(OUT) | grep -E '\.(deb|rpm|tar\.xz)$$' || true; ls -l $(OUT)/windows

package-linux:
	@scripts/deps package
	scripts/package linux

package-windows:
	@scripts/deps package
	scripts/package windows

# Signs a Windows exe with a throwaway self-signed certificate and verifies it.
sign-test:
	@scripts/deps package
	scripts/sign-test

# Installs the .deb with apt, runs it in a private desktop, removes it.
package-test: package-linux
	scripts/package-test

# Every package that has files for Windows vets (tests included) there, without cgo,
# with Fyne's test driver (-tags ci); macOS likewise except the two that need cgo on
# darwin (ui and bench/baretray: systray and GLFW are Objective-C there). Packages
# whose files are all Linux-only (bench/e2e, bench/serverload, internal/winetest's
# test) are left out by `go list` itself. Then the real Windows cross-build of
# cmd/tidings with mingw-w64 (cold: 5-9 min).
DARWIN_CGO_ONLY := -e /ui$$ -e /bench/baretray$$ -e /cmd/tidings$$
cross-check:
	@scripts/deps package
	@for os in windows darwin; do \
	  pkgs=$$(CGO_ENABLED=0 GOOS=$$os $(GO) list -tags ci -f '{{if or .GoFiles .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | \
	    grep -v -e /cmd/tidings$$); \
	  [ $$os = darwin ] && pkgs=$$(echo "$$pkgs" | grep -v $(DARWIN_CGO_ONLY)); \
	  echo "== GOOS=$$os: vet $$(echo $$pkgs | wc -w) packages"; \
	  CGO_ENABLED=0 GOOS=$$os $(GO) vet -tags ci $$pkgs || exit 1; \
	done
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
	  $(GO) build -ldflags "-H=windowsgui $(LDFLAGS)" -o $(OUT)/cross/tidings.exe ./cmd/tidings
	@file $(OUT)/cross/tidings.exe 2>/dev/null || true

# The Windows build under Wine 8 in a private Xvfb desktop (scripts/wine-test): every
# package's Windows test binary, then the real exe typed into and checked. Installs Wine,
# mingw-w64 and NSIS if missing. Cold ≈ 10 min on 2 cores.
wine-test: deps
	scripts/wine-test

# embedded vs nats backend, same load, side by side (in-process, loopback)
bench-nats:
	$(GO) run ./bench/natsload -n 2000 -users 100 -rate 200 -for 5s

clean:
	rm -rf $(OUT)
