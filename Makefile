# Every test of the project: the main module (with -race) and the interop module,
# which runs our code against go-ethereum v1.17.10.
.PHONY: test test-main test-interop vet fuzz bench e2e

test: vet test-main test-interop

vet:
	go vet ./...
	cd interop && go vet ./...

test-main:
	go test -race -count=1 -timeout 15m ./...
	CGO_ENABLED=0 go test -count=1 -timeout 10m ./crypto/... ./rlpx/...

test-interop:
	cd interop && go test -race -count=1 -timeout 15m ./...

# Short fuzzing pass over every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	./scripts/fuzz-all.sh $(FUZZTIME)

bench:
	cd interop && go run ./cmd/bench

# End-to-end test of the daemon: two devp2pd processes on loopback, admin
# JSON-RPC, /metrics and a restart (about 40 s; .ci/run runs it after test).
e2e:
	./.ci/e2e.sh
