package simulate

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// ackBroker is the least an MQTT 3.1.1 broker must do for a publisher: it
// accepts every connection and acknowledges every packet, batching its
// answers. It measures the publisher alone.
func ackBroker(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveAcks(c)
		}
	}()
	return "tcp://" + l.Addr().String()
}

func serveAcks(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 64<<10)
	body := make([]byte, 0, 1024)
	for {
		h, err := r.ReadByte()
		if err != nil {
			return
		}
		n, err := binary.ReadUvarint(r) // MQTT's remaining length is this varint
		if err != nil {
			return
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch h >> 4 {
		case 1: // CONNECT
			w.Write([]byte{0x20, 2, 0, 0})
		case 3: // PUBLISH
			if qos := h >> 1 & 3; qos > 0 {
				i := 2 + int(binary.BigEndian.Uint16(body))
				ack := byte(0x40) // PUBACK
				if qos == 2 {
					ack = 0x50 // PUBREC
				}
				w.Write([]byte{ack, 2, body[i], body[i+1]})
			}
		case 6: // PUBREL
			w.Write([]byte{0x70, 2, body[0], body[1]})
		case 12: // PINGREQ
			w.Write([]byte{0xd0, 0})
		case 14: // DISCONNECT
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

// BenchmarkPublishFast measures the simulator's own publishing rate in Fast
// mode against a broker that does nothing but acknowledge.
func BenchmarkPublishFast(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			broker := ackBroker(b)
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			st, err := Run(context.Background(), Options{Broker: broker, Beds: 1000, Count: b.N, Fast: true, Conns: conns})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Acked)/time.Since(began).Seconds(), "msgs/s")
		})
	}
}
