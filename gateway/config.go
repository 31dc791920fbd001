package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"carebed/devices"
)

// Config is everything the running gateway needs. cmd/carebed fills it from
// flags, environment and file; Validate says which setting is wrong and how
// to fix it.
type Config struct {
	DataDir  string
	HTTPAddr string

	// MQTTListen is the embedded broker's address, or "off". Empty means
	// ":1883" when MQTTURL is empty and off otherwise.
	MQTTListen     string
	MQTTURL        string
	MQTTClientID   string
	MQTTUsername   string
	MQTTPassword   string
	MQTTCAFile     string
	MQTTCertFile   string
	MQTTKeyFile    string
	MQTTInsecure   bool
	MQTTTopics     []string
	MaxUnacked     int
	JournalNoSync  bool
	DeadLetterKeep int

	InfluxURL    string
	InfluxToken  string
	InfluxOrg    string
	InfluxBucket string

	AdminToken string
	Zone       string
	Demo       bool
	DemoBeds   int

	// SenMLNames maps SenML record names to our fields, on top of
	// devices.DefaultSenMLNames; a name mapped to "" is dropped from it.
	SenMLNames map[string]string

	// AlarmTimers changes the alarm rules' durations and night window:
	// "bed_exit=15m,inactivity=10h,night=22:00-06:00" (see alarmTimers).
	AlarmTimers string

	Heartbeats      map[string]time.Duration
	ShutdownTimeout time.Duration
	// ScaleMemoryLimit sets the Go runtime's soft memory limit from the
	// number of registered beds (see memoryBudget). The command sets it
	// unless GOMEMLIMIT is set.
	ScaleMemoryLimit bool
	// ScaleGCPercent sets the collector's pacing (GOGC) from the number of
	// registered beds (see gcPercent). The command sets it unless GOGC is
	// set.
	ScaleGCPercent bool
	// DebugAddr, when set, serves Go's profiler (/debug/pprof) there.
	// Keep it on loopback.
	DebugAddr string
}

// Defaults returns the configuration of `carebed serve` with nothing set.
func Defaults() Config {
	return Config{
		DataDir:         "./data",
		HTTPAddr:        ":8080",
		MQTTClientID:    "carebed-gateway",
		MQTTTopics:      DefaultTopics(),
		MaxUnacked:      10000,
		DeadLetterKeep:  10000,
		InfluxBucket:    "carebed/autogen",
		Zone:            "Asia/Shanghai",
		DemoBeds:        20,
		ShutdownTimeout: 10 * time.Second,
	}
}

// DefaultTopics are the topic filters subscribed to when none are
// configured: the native tree, Zigbee2MQTT's default base and the z2m/<home>
// bases of one hub per home, Home Assistant discovery, Tasmota telemetry,
// and ESPHome nodes whose topic_prefix is esphome/<node> (a node's default
// prefix is its bare name: add it to mqtt-topics, or set the prefix).
func DefaultTopics() []string {
	return []string{"carebed/#", "zigbee2mqtt/#", "z2m/#", "homeassistant/#", "tele/#", "esphome/#"}
}

// EmbeddedBroker returns the embedded broker's listen address, or "" when it
// stays off.
func (c Config) EmbeddedBroker() string {
	switch {
	case c.MQTTListen == "off":
		return ""
	case c.MQTTListen != "":
		return c.MQTTListen
	case c.MQTTURL == "":
		return ":1883"
	}
	return ""
}

// BrokerURL is the broker the gateway subscribes to: the configured one, or
// its own embedded broker.
func (c Config) BrokerURL() string {
	if c.MQTTURL != "" {
		return c.MQTTURL
	}
	return localURL(c.EmbeddedBroker())
}

// localURL is the URL a client on this machine uses for a listen address.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// Validate checks the configuration and names the setting and the fix of
// every problem it finds.
func (c Config) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data-dir", "empty; set a writable directory, e.g. ./data")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("http-addr", "%q is not host:port (e.g. :8080)", c.HTTPAddr)
	}
	if l := c.MQTTListen; l != "" && l != "off" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("mqtt-listen", "%q is not host:port or \"off\" (e.g. :1883)", l)
		}
	}
	if c.MQTTURL != "" {
		u, err := url.Parse(c.MQTTURL)
		if err != nil || u.Host == "" || !oneOf(u.Scheme, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss") {
			bad("mqtt-url", "%q is not a broker URL; use tcp://host:1883 or ssl://host:8883", redactURL(c.MQTTURL))
		}
	}
	if c.MQTTURL == "" && c.EmbeddedBroker() == "" {
		bad("mqtt-listen", "the embedded broker is off and no mqtt-url is set; set one of them")
	}
	if c.MQTTClientID == "" || len(c.MQTTClientID) > 64 {
		bad("mqtt-client-id", "must be 1-64 characters and stable across restarts so the broker keeps the session")
	}
	if len(c.MQTTTopics) == 0 {
		bad("mqtt-topics", "empty; the native format needs carebed/# (the default is %s)", strings.Join(DefaultTopics(), ","))
	}
	if (c.MQTTCertFile == "") != (c.MQTTKeyFile == "") {
		bad("mqtt-cert-file", "set both mqtt-cert-file and mqtt-key-file for a client certificate")
	}
	if c.MaxUnacked < 1 || c.MaxUnacked > 65535 {
		bad("max-unacked", "%d out of range; use 1..65535 and set the broker's in-flight limit at least as high", c.MaxUnacked)
	}
	if c.DeadLetterKeep < 100 {
		bad("dead-letter-keep", "%d is too small; keep at least 100", c.DeadLetterKeep)
	}
	if c.InfluxURL != "" {
		u, err := url.Parse(c.InfluxURL)
		if err != nil || u.Host == "" || !oneOf(u.Scheme, "http", "https") {
			bad("influx-url", "%q is not an http(s) URL, e.g. http://127.0.0.1:8086", redactURL(c.InfluxURL))
		}
		if c.InfluxBucket == "" {
			bad("influx-bucket", "empty; set the bucket (InfluxDB 1.8: database/retention-policy, e.g. carebed/autogen)")
		}
	}
	for name, field := range c.SenMLNames {
		if name == "" || field != "" && !devices.ValidField(field) {
			bad("senml-names", "%s=%s: want record=field with one of our fields (%s), or record= to drop a default",
				name, field, strings.Join(devices.Fields(), ", "))
		}
	}
	if _, err := time.LoadLocation(c.Zone); err != nil {
		bad("zone", "%q is not a time zone name, e.g. Asia/Shanghai", c.Zone)
	} else if _, err := alarmConfig(c.Zone, c.AlarmTimers); err != nil {
		bad("alarm-timers", "%v", err)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("admin-token", "too short; use at least 16 random characters")
	}
	if c.Demo && (c.DemoBeds < 1 || c.DemoBeds > 10000) {
		bad("demo-beds", "%d out of range; use 1..10000", c.DemoBeds)
	}
	for kind, d := range c.Heartbeats {
		if d <= 0 {
			bad("heartbeat", "%s: %v must be positive", kind, d)
		}
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			bad("debug-addr", "%q is not host:port (e.g. 127.0.0.1:6060)", c.DebugAddr)
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive, e.g. 10s")
	}
	return errors.Join(errs...)
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	u.User = nil
	return u.String()
}

// SenMLRecordNames is devices.DefaultSenMLNames with c.SenMLNames applied.
func (c Config) SenMLRecordNames() map[string]string {
	names := devices.DefaultSenMLNames()
	for k, v := range c.SenMLNames {
		if v == "" {
			delete(names, k)
		} else {
			names[k] = v
		}
	}
	return names
}
