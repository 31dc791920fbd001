package devices

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseNativeTopic(t *testing.T) {
	tests := []struct {
		name   string
		topic  string
		id     string
		stream Stream
		reason Reason
	}{
		{name: "vitals", topic: "carebed/dev-1/vitals", id: "dev-1", stream: StreamVitals},
		{name: "every id character", topic: "carebed/Az09._:-/sos", id: "Az09._:-", stream: StreamSOS},
		{name: "ieee address", topic: "carebed/0x00158d0001a2b3c4/fall", id: "0x00158d0001a2b3c4", stream: StreamFall},
		{name: "mac address", topic: "carebed/AA:BB:CC:DD:EE:FF/env", id: "AA:BB:CC:DD:EE:FF", stream: StreamEnv},
		{name: "dots inside id", topic: "carebed/a..b/status", id: "a..b", stream: StreamStatus},
		{name: "id of 64", topic: "carebed/" + strings.Repeat("x", 64) + "/availability", id: strings.Repeat("x", 64), stream: StreamAvailability},
		{name: "visit", topic: "carebed/reader.7/visit", id: "reader.7", stream: StreamVisit},
		{name: "id of 65", topic: "carebed/" + strings.Repeat("x", 65) + "/vitals", reason: ReasonUnknownTopic},
		{name: "only dots", topic: "carebed/.../vitals", reason: ReasonUnknownTopic},
		{name: "slash in place of id", topic: "carebed///vitals", reason: ReasonUnknownTopic},
		{name: "percent in id", topic: "carebed/dev%201/vitals", reason: ReasonUnknownTopic},
		{name: "wildcard in id", topic: "carebed/dev#/vitals", reason: ReasonUnknownTopic},
		{name: "wildcard inside stream", topic: "carebed/dev-1/vit+als", reason: ReasonUnknownTopic},
		{name: "prefix as device", topic: "carebed/carebed", reason: ReasonUnknownTopic},
		{name: "prefix with trailing slash", topic: "carebed/", reason: ReasonUnknownTopic},
		{name: "four levels", topic: "carebed/hub/dev-1/vitals", reason: ReasonUnknownTopic},
		{name: "unknown stream", topic: "carebed/dev-1/ecg", reason: ReasonUnknownStream},
		{name: "stream with nul", topic: "carebed/dev-1/sos\x00", reason: ReasonUnknownStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, stream, err := ParseNativeTopic(tt.topic)
			if tt.reason != "" {
				if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != "" {
					t.Fatalf("ParseNativeTopic(%q) = %q, %q, %v, want %s", tt.topic, id, stream, err, tt.reason)
				}
				return
			}
			if err != nil || id != tt.id || stream != tt.stream {
				t.Fatalf("ParseNativeTopic(%q) = %q, %q, %v, want %q, %q", tt.topic, id, stream, err, tt.id, tt.stream)
			}
		})
	}
}

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func FuzzParseNativeTopic(f *testing.F) {
	for _, file := range []string{"native-good.jsonl", "native-bad.jsonl"} {
		for _, c := range loadNativeCases(f, file) {
			f.Add(c.Topic)
		}
	}
	f.Fuzz(func(t *testing.T, topic string) {
		id, stream, err := ParseNativeTopic(topic)
		if err != nil {
			re, ok := err.(*RejectError)
			if !ok || (re.Reason != ReasonUnknownTopic && re.Reason != ReasonUnknownStream) {
				t.Fatalf("ParseNativeTopic(%q) = %T %v, want a *RejectError for the topic", topic, err, err)
			}
			if len(re.Detail) > 200 {
				t.Fatalf("ParseNativeTopic(%q) detail is %d bytes, want at most 200", topic, len(re.Detail))
			}
			return
		}
		if NativePrefix+"/"+id+"/"+string(stream) != topic || !deviceIDPattern.MatchString(id) ||
			strings.Trim(id, ".") == "" || !slices.Contains(Streams, stream) {
			t.Fatalf("ParseNativeTopic(%q) = %q, %q, want a valid id and stream", topic, id, stream)
		}
	})
}

func BenchmarkParseNativeTopic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseNativeTopic("carebed/0x00158d0001a2b3c4/vitals"); err != nil {
			b.Fatal(err)
		}
	}
}
