// Package alerts owns CareBed's alarms: the rules that turn observations
// into signals (Engine), the lifecycle of an alert from open through
// acknowledged to resolved with its audit trail (Apply, Acknowledge,
// Resolve), escalation along an agency's policy to whoever is on duty
// (Escalate, Roster), notification requests, and the response KPIs.
//
// It is pure domain logic: time is always passed in, it does no I/O, and
// it imports no transport, database or configuration loader. The gateway
// feeds it observations from the journal and keeps its results in the
// state database in the same transaction as the journal position, so an
// alarm is never lost and never raised twice.
//
// It must never log or put into an error an elder's name, address or a
// contact's phone number.
package alerts
