package simulate

import (
	"strconv"
)

// Payloads are built by appending to a caller's buffer with strconv, never
// with fmt or encoding/json: the load tests publish hundreds of thousands of
// them a second. Every builder returns the object without its closing
// brace; closePayload adds ts, seq and the brace.

// vitalsReading is one report of the vital-sign radar. A zero HeartRate or
// RespRate is the radar's "no reading"; SpO2 and TempC zero are left out.
type vitalsReading struct {
	HeartRate, RespRate, SpO2 int
	TempC                     float64
	InBed                     bool
	Movement                  int
}

func appendVitals(b []byte, v vitalsReading) []byte {
	b = append(b, `{"heart_rate":`...)
	b = strconv.AppendInt(b, int64(v.HeartRate), 10)
	b = append(b, `,"resp_rate":`...)
	b = strconv.AppendInt(b, int64(v.RespRate), 10)
	if v.SpO2 > 0 {
		b = append(b, `,"spo2":`...)
		b = strconv.AppendInt(b, int64(v.SpO2), 10)
	}
	if v.TempC > 0 {
		b = append(b, `,"temp_c":`...)
		b = strconv.AppendFloat(b, v.TempC, 'f', 1, 64)
	}
	b = append(b, `,"in_bed":`...)
	b = strconv.AppendBool(b, v.InBed)
	b = append(b, `,"movement":`...)
	return strconv.AppendInt(b, int64(v.Movement), 10)
}

// appendBool appends {"<key>":<v>.
func appendBool(b []byte, key string, v bool) []byte {
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendBool(b, v)
}

// appendString appends {"<key>":"<v>"; v must need no escaping.
func appendString(b []byte, key, v string) []byte {
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, v...)
	return append(b, '"')
}

func appendClimate(b []byte, tempC float64, humidity int) []byte {
	b = append(b, `{"temp_c":`...)
	b = strconv.AppendFloat(b, tempC, 'f', 1, 64)
	b = append(b, `,"humidity":`...)
	return strconv.AppendInt(b, int64(humidity), 10)
}

// appendStatus appends a status report; battery < 0 means mains powered
// (no battery field, no tamper switch).
func appendStatus(b []byte, battery, rssi int) []byte {
	if battery < 0 {
		b = append(b, `{"rssi":`...)
		return strconv.AppendInt(b, int64(rssi), 10)
	}
	b = append(b, `{"battery":`...)
	b = strconv.AppendInt(b, int64(battery), 10)
	b = append(b, `,"rssi":`...)
	b = strconv.AppendInt(b, int64(rssi), 10)
	return append(b, `,"tamper":false`...)
}

// Visit constants: the simulated caregiver and what she does.
const (
	visitCaregiver = "cg-001"
	visitMethod    = "nfc"
	visitServices  = `["0101","0103","0201"]`
)

// appendVisit appends a visit check_in or check_out.
func appendVisit(b []byte, action string) []byte {
	b = append(b, `{"caregiver":"`+visitCaregiver+`","action":"`...)
	b = append(b, action...)
	return append(b, `","method":"`+visitMethod+`","services":`+visitServices...)
}

// closePayload ends a payload begun by a builder above: ts (Unix ms) when
// ts > 0, seq when seq > 0, and the closing brace.
func closePayload(b []byte, ts int64, seq uint64) []byte {
	if ts > 0 {
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, ts, 10)
	}
	if seq > 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	return append(b, '}')
}
