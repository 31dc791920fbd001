package gatewaytest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a fatal or skip message instead of
// stopping the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatal(args ...any)            { r.msg = "fatal: " + fmt.Sprint(args...) }
func (r *recorder) Skip(args ...any)             { r.msg = "skip: " + fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.msg = "fatal: " + fmt.Sprintf(f, args...) }

func TestFindBinaryMissing(t *testing.T) {
	r := &recorder{TB: t}
	got := findBinary(r, "carebed-no-such-server", "go install example.com/no-such-server@v1", t.TempDir())
	want := "fatal: "
	if testing.Short() {
		want = "skip: "
	}
	if got != "" || !strings.HasPrefix(r.msg, want) || !strings.Contains(r.msg, "install it with: go install example.com/no-such-server@v1") {
		t.Errorf("findBinary(missing) = %q, message %q, want \"\" and a %q message saying how to install it", got, r.msg, want)
	}
}

func TestFreePort(t *testing.T) {
	a, b := FreePort(t), FreePort(t)
	if a <= 0 || b <= 0 || !tcpFree(a) {
		t.Errorf("FreePort() = %d, %d, want free ports", a, b)
	}
}

func tcpFree(port int) bool { return !tcpReady(port) }
