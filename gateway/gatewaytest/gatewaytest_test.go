package gatewaytest_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"carebed/gateway/gatewaytest"
)

func TestInfluxDBRestart(t *testing.T) {
	t.Parallel()
	db := gatewaytest.StartInfluxDB(t)
	db.WriteLines(t, "vitals,bed=b1 heart_rate=72 1700000000000000000\n")
	if got, want := db.Count(t, "vitals", "heart_rate"), 1; got != want {
		t.Fatalf("Count(vitals, heart_rate) = %d, want %d", got, want)
	}
	if got, want := db.Count(t, "nothing", "heart_rate"), 0; got != want {
		t.Fatalf("Count(nothing, heart_rate) = %d, want %d", got, want)
	}

	db.Stop()
	if resp, err := http.Get(db.URL + "/ping"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /ping after Stop = %s, want a connection error", resp.Status)
	}
	db.Start()
	if got, want := db.Count(t, "vitals", "heart_rate"), 1; got != want {
		t.Fatalf("Count(vitals, heart_rate) after restart = %d, want %d", got, want)
	}
	rows := db.Query(t, `SELECT heart_rate, bed FROM vitals`)
	if len(rows) != 1 || rows[0]["heart_rate"] != 72.0 || rows[0]["bed"] != "b1" ||
		rows[0]["time"] != "2023-11-14T22:13:20Z" || rows[0]["_measurement"] != "vitals" {
		t.Fatalf("Query(SELECT heart_rate, bed FROM vitals) = %v, want one row bed=b1 heart_rate=72", rows)
	}
}

func TestMosquittoRestart(t *testing.T) {
	t.Parallel()
	m := gatewaytest.StartMosquitto(t)
	if got, want := mqttConnect(t, m.Port, "gatewaytest-1"), false; got != want {
		t.Fatalf("first CONNECT: session present = %v, want %v", got, want)
	}
	m.Stop()
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port))); err == nil {
		c.Close()
		t.Fatalf("dial after Stop succeeded, want a connection error")
	}
	m.Start()
	// The persistent session survives the restart only if the broker saved
	// its database on SIGTERM and loaded it again.
	if got, want := mqttConnect(t, m.Port, "gatewaytest-1"), true; got != want {
		t.Fatalf("CONNECT after restart: session present = %v, want %v\nbroker log:\n%s", got, want, m.Log())
	}
}

// mqttConnect opens an MQTT 3.1.1 session with clean session off, reads the
// CONNACK, disconnects, and returns the session-present flag.
func mqttConnect(t *testing.T, port int, clientID string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// MQTT 3.1.1 section 3.1: protocol name, level 4, flags 0 (clean session
	// off), keep-alive 60 s, then the client identifier.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 60, 0, byte(len(clientID))}
	body = append(body, clientID...)
	pkt := append([]byte{0x10, byte(len(body))}, body...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	// Section 3.2: 0x20, remaining length 2, acknowledge flags, return code.
	if ack[0] != 0x20 || ack[1] != 2 || ack[3] != 0 {
		t.Fatalf("CONNACK = % x, want 20 02 0? 00", ack)
	}
	if _, err := c.Write([]byte{0xe0, 0}); err != nil {
		t.Fatalf("write DISCONNECT: %v", err)
	}
	return ack[2]&1 == 1
}
