// Package mqttconn gives paho a TCP (or TLS) connection that coalesces
// writes and buffers reads. paho writes every packet with its own system
// call and reads each packet with three; at tens of thousands of messages a
// second that is most of a client's CPU.
//
// It must never look inside the packets it carries.
package mqttconn

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Supports reports whether Open can dial the broker URL's scheme; paho's
// own dialer serves the others (websockets).
func Supports(u *url.URL) bool {
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
		return true
	}
	return false
}

// Open dials the broker of u as paho's CustomOpenConnectionFn: plain TCP
// for tcp:// and mqtt://, TLS with the client's TLS configuration for
// ssl://, tls://, mqtts:// and tcps://.
func Open(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	var c net.Conn
	var err error
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "tcps":
		cfg := o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = u.Hostname()
		}
		c, err = tls.DialWithDialer(d, "tcp", u.Host, cfg)
	default:
		c, err = d.Dial("tcp", u.Host)
	}
	if err != nil {
		return nil, err
	}
	return newBatchConn(c), nil
}

// batchConn is a TCP connection to the broker that coalesces writes and
// buffers reads.
//
// paho writes every packet with its own write call and reads every packet
// with three (header byte, length, body): at 100,000 messages a second
// that is 400,000 system calls a second per connection, and the simulator
// would measure itself rather than the gateway. Writes are copied into a
// pending buffer that one goroutine flushes with a single write as soon as
// it can, so packets batch up exactly when the connection is busy; reads
// go through a bufio.Reader (paho reads from a single goroutine).
//
// A write error is kept and returned by every later Write, and the
// connection is closed so that paho's reader notices and reconnects.
type batchConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond // signalled when pending shrinks or the flusher stops
	pending []byte
	err     error
	closing bool

	wake chan struct{} // capacity 1: there is something to flush
	done chan struct{} // closed when the flusher has returned
}

const (
	batchReadBuffer = 64 << 10
	// batchMaxPending bounds what Write accepts before it waits for the
	// flusher.
	batchMaxPending = 1 << 20
	// batchCloseWait bounds how long Close waits to flush what is pending.
	batchCloseWait = 2 * time.Second
)

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{
		Conn:    c,
		r:       bufio.NewReaderSize(c, batchReadBuffer),
		pending: make([]byte, 0, 64<<10),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

func (b *batchConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p for the flusher. It returns once p is copied.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	for b.err == nil && !b.closing && len(b.pending) > batchMaxPending {
		b.cond.Wait()
	}
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	if b.closing {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// flush writes what is pending until the connection closes or fails.
func (b *batchConn) flush() {
	defer close(b.done)
	spare := make([]byte, 0, 64<<10)
	for {
		<-b.wake
		// Let the writers that are already running add their packets, so
		// a burst (the acknowledgements of one journal commit) leaves in
		// one system call rather than one each.
		runtime.Gosched()
		b.mu.Lock()
		out := b.pending
		b.pending = spare[:0]
		closing := b.closing
		b.cond.Broadcast()
		b.mu.Unlock()
		if len(out) > 0 {
			if _, err := b.Conn.Write(out); err != nil {
				b.mu.Lock()
				b.err = err
				b.cond.Broadcast()
				b.mu.Unlock()
				_ = b.Conn.Close()
				return
			}
		}
		spare = out
		if closing {
			b.mu.Lock()
			empty := len(b.pending) == 0
			b.mu.Unlock()
			if empty {
				return
			}
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Close flushes what is pending (within batchCloseWait) and closes the
// connection. paho may close from two goroutines at once (the writer after
// DISCONNECT, and Disconnect itself): every caller waits for the flush, so
// that DISCONNECT reaches the broker and it discards the will.
func (b *batchConn) Close() error {
	b.mu.Lock()
	first := !b.closing
	b.closing = true
	b.cond.Broadcast()
	b.mu.Unlock()
	if first {
		_ = b.Conn.SetWriteDeadline(time.Now().Add(batchCloseWait))
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
	return b.Conn.Close()
}

// Dialer opens connections like Open and remembers the newest one, so that
// a client can write to the connection a message arrived on (paho stops a
// connection's workers before it dials the next, so while a message is
// being handled the newest connection is its own).
type Dialer struct {
	latest atomic.Pointer[batchConn]
}

// Open is paho's CustomOpenConnectionFn.
func (d *Dialer) Open(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	c, err := Open(u, o)
	if err != nil {
		return nil, err
	}
	d.latest.Store(c.(*batchConn))
	return c, nil
}

// Latest is the newest connection, or nil before the first one. Writes to
// it after it has closed fail; they never reach a newer connection.
func (d *Dialer) Latest() io.Writer {
	if c := d.latest.Load(); c != nil {
		return c
	}
	return nil
}
