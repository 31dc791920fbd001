// Package gatewaytest starts the real servers that gateway tests talk to:
// InfluxDB 1.8 (with its v2 write and Flux query API) and Mosquitto, each as
// a process on free loopback ports with every file in the test's temporary
// directory.
//
// A server is stopped and its process reaped when the test ends. Stop and
// Start restart a server on the same port and data directory, so tests can
// simulate an outage. When a server binary is missing the test fails with a
// message saying how to install it; under -short it is skipped instead.
//
// This package is only for tests: it must never be imported by the service.
package gatewaytest
