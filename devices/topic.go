package devices

import "strings"

// NativePrefix is the first level of every native-format topic.
const NativePrefix = "carebed"

// MaxDeviceIDLen is the longest device id a native topic may carry.
const MaxDeviceIDLen = 64

// ParseNativeTopic splits a native topic "carebed/<device_id>/<stream>"
// (DESIGN.md "The public contract (v1)").
//
// A topic of any other shape is ReasonUnknownTopic: another prefix (it is
// case-sensitive), fewer or more than three levels, an empty level, a
// wildcard (+ or #), or a device id that is not 1-64 of [A-Za-z0-9._:-].
// An id made only of dots ("." or "..") is refused too, because ids end up
// in URLs and file names. A well-formed topic whose stream is not in the
// contract (streams are case-sensitive) is ReasonUnknownStream. The returned
// device id shares memory with topic.
func ParseNativeTopic(topic string) (deviceID string, stream Stream, err error) {
	rest, ok := strings.CutPrefix(topic, NativePrefix+"/")
	if !ok {
		return "", "", Reject(ReasonUnknownTopic, "", "topic %s is not under %s/", quote(topic), NativePrefix)
	}
	id, name, ok := strings.Cut(rest, "/")
	switch {
	case !ok:
		return "", "", Reject(ReasonUnknownTopic, "", "topic %s: want %s/<device_id>/<stream>", quote(topic), NativePrefix)
	case strings.IndexByte(name, '/') >= 0:
		return "", "", Reject(ReasonUnknownTopic, "", "topic %s has more than three levels", quote(topic))
	case !validDeviceID(id):
		return "", "", Reject(ReasonUnknownTopic, "", "device id %s: want 1-%d of [A-Za-z0-9._:-], not only dots", quote(id), MaxDeviceIDLen)
	case name == "":
		return "", "", Reject(ReasonUnknownTopic, "", "topic %s has no stream", quote(topic))
	case strings.ContainsAny(name, "+#"):
		return "", "", Reject(ReasonUnknownTopic, "", "topic %s contains a wildcard", quote(topic))
	}
	if _, ok := nativeSpec(Stream(name)); !ok {
		return "", "", Reject(ReasonUnknownStream, "", "stream %s is not in the native contract", quote(name))
	}
	return id, Stream(name), nil
}

// validDeviceID reports whether id is 1-64 of [A-Za-z0-9._:-] and not only
// dots.
func validDeviceID(id string) bool {
	if len(id) == 0 || len(id) > MaxDeviceIDLen {
		return false
	}
	dots := 0
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == ':', c == '-':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots < len(id)
}
