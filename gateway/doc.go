// Package gateway connects the domain packages to the world: it wires the
// MQTT subscriber, the durable journal, the consumers that feed the device
// registry and the time-series store, the HTTP API and the embedded broker,
// and runs them until the context ends, stopping them in reverse order.
//
// It holds no domain rule of its own: decoding lives in devices, alarm rules
// in alerts. Configuration arrives as a validated Config; this package never
// reads flags, files or the environment.
package gateway
