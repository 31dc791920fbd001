package mqttconn

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

func TestBatchConnDeliversEverythingBeforeClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(c)
		got <- b
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newBatchConn(raw)
	var want bytes.Buffer
	for i := range 20000 {
		p := fmt.Appendf(nil, "packet %d;", i)
		want.Write(p)
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v, want %d, nil", n, err, len(p))
		}
	}
	// paho closes from two goroutines at once after DISCONNECT; both wait
	// for the flush.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _ = c.Close() })
	}
	wg.Wait()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Errorf("peer read %d bytes, want the %d written, in order", len(b), want.Len())
	}
	if _, err := c.Write([]byte("late")); err == nil {
		t.Errorf("Write after Close = nil error, want one")
	}
}
