package ingest

import (
	"bytes"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/mqttconn"
)

type fakeMessage struct {
	qos   byte
	id    uint16
	acked bool
}

func (m *fakeMessage) Duplicate() bool   { return false }
func (m *fakeMessage) Qos() byte         { return m.qos }
func (m *fakeMessage) Retained() bool    { return false }
func (m *fakeMessage) Topic() string     { return "carebed/v1/vitals" }
func (m *fakeMessage) MessageID() uint16 { return m.id }
func (m *fakeMessage) Payload() []byte   { return nil }
func (m *fakeMessage) Ack()              { m.acked = true }

func TestAckWritesPubackToTheMessagesConnection(t *testing.T) {
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
		b := make([]byte, 8)
		_, _ = io.ReadFull(c, b)
		got <- b
		c.Close()
	}()
	var d mqttconn.Dialer
	u, _ := url.Parse("tcp://" + l.Addr().String())
	conn, err := d.Open(u, mqtt.ClientOptions{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	first, second := &fakeMessage{qos: 1, id: 0x0102}, &fakeMessage{qos: 1, id: 0xfffe}
	ackFor(first, &d)()
	ackFor(second, &d)()
	select {
	case b := <-got:
		if want := []byte{0x40, 0x02, 0x01, 0x02, 0x40, 0x02, 0xff, 0xfe}; !bytes.Equal(b, want) {
			t.Errorf("bytes on the wire = % x, want % x (two PUBACKs in order)", b, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PUBACK reached the broker side")
	}
	if first.acked || second.acked {
		t.Error("paho's Ack was called as well, want only the direct PUBACK")
	}
}

func TestAckFallsBackToPaho(t *testing.T) {
	tests := []struct {
		name   string
		qos    byte
		dialer *mqttconn.Dialer
	}{
		{"no dialer of ours (websocket)", 1, nil},
		{"no connection yet", 1, &mqttconn.Dialer{}},
		{"qos 0 needs no puback; paho's Ack is a no-op", 0, &mqttconn.Dialer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMessage{qos: tt.qos, id: 7}
			ackFor(m, tt.dialer)()
			if !m.acked {
				t.Errorf("ackFor(%s)() did not use paho's Ack", tt.name)
			}
		})
	}
}
