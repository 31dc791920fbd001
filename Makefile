# The README's commands. `make test` installs the servers the integration
# tests start (InfluxDB 1.8.10 via go install, Mosquitto via apt-get) when
# they are missing, then vets and runs every test with the race detector.
GOBIN ?= $(shell go env GOPATH)/bin
export PATH := $(GOBIN):/usr/sbin:$(PATH)

.PHONY: run test deps bench-ingest

run:
	go run ./cmd/carebed serve --demo

deps:
	@command -v influxd >/dev/null || { echo "installing influxd 1.8.10 (about a minute)"; GOBIN=$(GOBIN) go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10; }
	@command -v mosquitto >/dev/null || { echo "installing mosquitto"; apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients; }

test: deps
	go vet ./...
	go test -race -timeout 30m ./...

bench-ingest: deps
	bash bench/ingest.sh
