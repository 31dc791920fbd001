package gatewaytest

import (
	"bytes"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gatewaytest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// findBinary looks for name on PATH and then in dirs. It skips the test under
// -short and fails it otherwise, telling how to install the binary.
func findBinary(t testing.TB, name, install string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("gatewaytest: %s not found on PATH nor in %v; install it with: %s", name, dirs, install)
	if testing.Short() {
		t.Skip(msg)
	} else {
		t.Fatal(msg)
	}
	return ""
}

// goBin returns $GOBIN or the bin directory of the first GOPATH entry.
func goBin() string {
	if b := os.Getenv("GOBIN"); b != "" {
		return b
	}
	gp := filepath.SplitList(build.Default.GOPATH)
	if len(gp) == 0 {
		return ""
	}
	return filepath.Join(gp[0], "bin")
}

// process is one server process whose output goes to a log file.
type process struct {
	name    string
	path    string
	args    []string
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	log  *os.File
}

// start launches the process, appending its output to the log file.
func (p *process) start() error {
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.name)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== gatewaytest: start %s %v at %s\n", p.path, p.args, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = f
	cmd.Stderr = f
	// Its own process group (a ^C to the test does not race our SIGTERM) and
	// killed if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.cmd, p.done, p.log = cmd, done, f
	return nil
}

// exited reports whether the process has exited on its own.
func (p *process) exited() bool {
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it. It is a no-op when the process is not running.
func (p *process) stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	fmt.Fprintf(p.log, "=== gatewaytest: stopped %s (%v) at %s\n", p.name, p.cmd.ProcessState, time.Now().Format(time.RFC3339Nano))
	p.log.Close()
	p.cmd, p.done, p.log = nil, nil, nil
}

// tail returns the last n bytes of the process log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// waitReady polls ready until it reports true, the process exits, or the
// timeout passes. On failure it stops the process and returns an error
// carrying the tail of the log.
func (p *process) waitReady(timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
			return nil
		}
		if p.exited() {
			err := fmt.Errorf("%s exited before it was ready; log %s ends with:\n%s", p.name, p.logPath, p.tail(4096))
			p.stop(time.Second)
			return err
		}
		if time.Now().After(deadline) {
			p.stop(5 * time.Second)
			return fmt.Errorf("%s not ready after %v; log %s ends with:\n%s", p.name, timeout, p.logPath, p.tail(4096))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tcpReady reports whether something accepts TCP connections on port.
func tcpReady(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
