# Tidings — the README's commands are targets here: `make demo` and `make test`.
SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO      ?= go
VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X main.version=$(VERSION)
OUT     := out

.PHONY: all deps build test fmt-check vet reliability demo bench icons clean

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

# The whole suite, integration tests included: every test package that needs a
# desktop starts its own private D-Bus session, gnome-keyring and Xvfb
# (internal/desktoptest); under CI=true a desktop that cannot start fails.
# conn's reliability checks time the engine in scaled-down seconds; they run
# on their own after the rest so other packages' tests do not starve them.
test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/conn$$')
	$(GO) test -race -count=1 -timeout 10m ./conn/

reliability:
	$(GO) test -race -count=1 -timeout 10m -v -run 'TestReliability' ./conn/ 2>&1 | \
	  grep -Ev '^(=== (RUN|PAUSE|CONT)|\s+helpers_test.go)'; exit $${PIPESTATUS[0]}

demo: build
	@scripts/demo

icons:
	cd assets/src && for f in *.svg; do n=$${f%.svg}; s=64; [ $$n = icon ] && s=256; \
	  convert -background none -density 600 $$f -resize $${s}x$${s} ../$$n.png; done

clean:
	rm -rf $(OUT)
