package gatewaytest

import (
	"testing"
	"time"
)

// WaitFor polls cond every 50 ms until it holds, and fails the test if it
// still does not after timeout, naming what was awaited.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
