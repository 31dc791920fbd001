package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"carebed/gateway"
)

// setting is one configuration value, declared once and readable from a
// flag, an environment variable CAREBED_<NAME> and a key of the config file.
type setting struct {
	name   string
	help   string
	secret bool
	set    func(c *gateway.Config, v string) error
	get    func(c *gateway.Config) string
}

func str(name, help string, f func(*gateway.Config) *string) setting {
	return setting{name: name, help: help,
		set: func(c *gateway.Config, v string) error { *f(c) = v; return nil },
		get: func(c *gateway.Config) string { return *f(c) }}
}

func secret(name, help string, f func(*gateway.Config) *string) setting {
	s := str(name, help, f)
	s.secret = true
	return s
}

func boolean(name, help string, f func(*gateway.Config) *bool) setting {
	return setting{name: name, help: help,
		set: func(c *gateway.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*f(c) = b
			return nil
		},
		get: func(c *gateway.Config) string { return strconv.FormatBool(*f(c)) }}
}

func integer(name, help string, f func(*gateway.Config) *int) setting {
	return setting{name: name, help: help,
		set: func(c *gateway.Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("want a whole number, got %q", v)
			}
			*f(c) = n
			return nil
		},
		get: func(c *gateway.Config) string { return strconv.Itoa(*f(c)) }}
}

func duration(name, help string, f func(*gateway.Config) *time.Duration) setting {
	return setting{name: name, help: help,
		set: func(c *gateway.Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("want a duration such as 10s, got %q", v)
			}
			*f(c) = d
			return nil
		},
		get: func(c *gateway.Config) string { return f(c).String() }}
}

// settings is the one list of every setting of carebed serve.
var settings = []setting{
	str("data-dir", "directory for the state database, journal, embedded telemetry and broker store", func(c *gateway.Config) *string { return &c.DataDir }),
	str("http-addr", "address of the HTTP API", func(c *gateway.Config) *string { return &c.HTTPAddr }),
	str("mqtt-listen", `embedded broker address, or "off" (default :1883 when no mqtt-url is set)`, func(c *gateway.Config) *string { return &c.MQTTListen }),
	str("mqtt-url", "external broker to subscribe to, e.g. tcp://127.0.0.1:1883 or ssl://host:8883", func(c *gateway.Config) *string { return &c.MQTTURL }),
	str("mqtt-client-id", "MQTT client id; keep it stable so the broker keeps the session", func(c *gateway.Config) *string { return &c.MQTTClientID }),
	str("mqtt-username", "MQTT user name", func(c *gateway.Config) *string { return &c.MQTTUsername }),
	secret("mqtt-password", "MQTT password", func(c *gateway.Config) *string { return &c.MQTTPassword }),
	str("mqtt-ca-file", "PEM CA bundle to verify the broker's TLS certificate", func(c *gateway.Config) *string { return &c.MQTTCAFile }),
	str("mqtt-cert-file", "PEM client certificate for TLS", func(c *gateway.Config) *string { return &c.MQTTCertFile }),
	str("mqtt-key-file", "PEM client key for TLS", func(c *gateway.Config) *string { return &c.MQTTKeyFile }),
	boolean("mqtt-insecure", "skip verification of the broker's TLS certificate (testing only)", func(c *gateway.Config) *bool { return &c.MQTTInsecure }),
	{name: "mqtt-topics", help: "comma-separated topic filters to subscribe to",
		set: func(c *gateway.Config, v string) error { c.MQTTTopics = splitList(v); return nil },
		get: func(c *gateway.Config) string { return strings.Join(c.MQTTTopics, ",") }},
	integer("max-unacked", "messages received but not yet journaled and acknowledged; keep the broker's in-flight limit at least this high", func(c *gateway.Config) *int { return &c.MaxUnacked }),
	integer("dead-letter-keep", "how many dead letters to keep", func(c *gateway.Config) *int { return &c.DeadLetterKeep }),
	str("influx-url", "InfluxDB URL; empty stores telemetry in the embedded store", func(c *gateway.Config) *string { return &c.InfluxURL }),
	secret("influx-token", `InfluxDB token (InfluxDB 1.8: "user:password" or empty)`, func(c *gateway.Config) *string { return &c.InfluxToken }),
	str("influx-org", "InfluxDB organisation (ignored by 1.8)", func(c *gateway.Config) *string { return &c.InfluxOrg }),
	str("influx-bucket", "InfluxDB bucket (1.8: database/retention-policy)", func(c *gateway.Config) *string { return &c.InfluxBucket }),
	secret("admin-token", "bearer token with admin rights, valid from start-up", func(c *gateway.Config) *string { return &c.AdminToken }),
	str("zone", "time zone of civil calendars (days, months, shifts)", func(c *gateway.Config) *string { return &c.Zone }),
	boolean("demo", "create a demo agency with beds and devices and run simulated beds in the process", func(c *gateway.Config) *bool { return &c.Demo }),
	integer("demo-beds", "number of simulated beds with --demo", func(c *gateway.Config) *int { return &c.DemoBeds }),
	{name: "heartbeat", help: "expected reporting interval per device kind, e.g. vitals_monitor=1m,sos_button=8h; silent for 3 of them means offline",
		set: func(c *gateway.Config, v string) error {
			m := map[string]time.Duration{}
			for _, kv := range splitList(v) {
				k, d, ok := strings.Cut(kv, "=")
				dur, err := time.ParseDuration(d)
				if !ok || err != nil {
					return fmt.Errorf("want kind=duration pairs, got %q", kv)
				}
				m[strings.TrimSpace(k)] = dur
			}
			c.Heartbeats = m
			return nil
		},
		get: func(c *gateway.Config) string {
			var out []string
			for k, v := range c.Heartbeats {
				out = append(out, k+"="+v.String())
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		}},
	{name: "senml-names", help: "SenML record names mapped to our fields, on top of the defaults (heartRate, hr, respRate, rr, spo2, temp, battery, ...), e.g. pulse=heart_rate,bodyTemp=vitals.temp_c; record= drops a default",
		set: func(c *gateway.Config, v string) error {
			m := map[string]string{}
			for _, kv := range splitList(v) {
				k, f, ok := strings.Cut(kv, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("want record=field pairs, got %q", kv)
				}
				m[strings.TrimSpace(k)] = strings.TrimSpace(f)
			}
			c.SenMLNames = m
			return nil
		},
		get: func(c *gateway.Config) string {
			var out []string
			for k, v := range c.SenMLNames {
				out = append(out, k+"="+v)
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		}},
	str("alarm-timers", "alarm rule durations and night window, e.g. bed_exit=20m,inactivity=12h,night=22:00-06:00 (names: sustain, no_signal, bed_exit, inactivity, door_night, long_lie, long_lie_repeat, suspected_upgrade, test_due)", func(c *gateway.Config) *string { return &c.AlarmTimers }),
	duration("shutdown-timeout", "how long a graceful stop may take", func(c *gateway.Config) *time.Duration { return &c.ShutdownTimeout }),
	str("debug-addr", "serve Go's profiler (/debug/pprof) on this address; keep it on loopback", func(c *gateway.Config) *string { return &c.DebugAddr }),
	boolean("journal-no-sync", "skip fsync in the journal (benchmarks only: loses messages on power failure)", func(c *gateway.Config) *bool { return &c.JournalNoSync }),
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func envName(name string) string {
	return "CAREBED_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// flagValue records a flag's text; settings are applied after the file and
// the environment so that flags win.
type flagValue struct{ v *string }

func (f flagValue) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}
func (f flagValue) Set(s string) error { *f.v = s; return nil }

type boolFlag struct{ flagValue }

func (boolFlag) IsBoolFlag() bool { return true }

// loadConfig builds the configuration: defaults, then the file, then
// CAREBED_* variables, then flags; and validates it.
func loadConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (gateway.Config, error) {
	fs := flag.NewFlagSet("carebed "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", getenv("CAREBED_CONFIG"), "YAML config file; keys are the flag names (env CAREBED_CONFIG)")
	given := map[string]*string{}
	def := gateway.Defaults()
	for _, s := range settings {
		v := new(string)
		help := fmt.Sprintf("%s (env %s)", s.help, envName(s.name))
		if d := s.get(&def); d != "" && d != "false" && !s.secret {
			help += " (default " + d + ")"
		}
		name := s.name
		if s.get(&def) == "false" || s.get(&def) == "true" {
			fs.Var(boolFlag{flagValue{v}}, name, help)
		} else {
			fs.Var(flagValue{v}, name, help)
		}
		given[name] = v
	}
	if err := fs.Parse(args); err != nil {
		return def, err
	}
	if fs.NArg() > 0 {
		return def, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := def
	var errs []error
	apply := func(s setting, v, from string) {
		if err := s.set(&cfg, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (from %s): %w", s.name, from, err))
		}
	}
	if *configFile != "" {
		fileValues, err := readConfigFile(*configFile)
		if err != nil {
			return def, err
		}
		for _, s := range settings {
			if v, ok := fileValues[s.name]; ok {
				apply(s, v, *configFile)
				delete(fileValues, s.name)
			}
		}
		for k := range fileValues {
			errs = append(errs, fmt.Errorf("%s: unknown setting %q in %s (see carebed serve -h)", k, k, *configFile))
		}
	}
	for _, s := range settings {
		if v := getenv(envName(s.name)); v != "" {
			apply(s, v, envName(s.name))
		}
	}
	for _, s := range settings {
		if set[s.name] {
			apply(s, *given[s.name], "--"+s.name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func readConfigFile(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("config %s: not valid YAML: %w", path, err)
	}
	out := make(map[string]string, len(doc))
	for k, v := range doc {
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = strings.Join(parts, ",")
		case map[string]any:
			var parts []string
			for mk, mv := range x {
				parts = append(parts, mk+"="+fmt.Sprint(mv))
			}
			sort.Strings(parts)
			out[k] = strings.Join(parts, ",")
		case nil:
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}

// printConfig writes the effective configuration as YAML, secrets hidden.
func printConfig(w io.Writer, cfg gateway.Config) error {
	for _, s := range settings {
		v := s.get(&cfg)
		if s.secret && v != "" {
			v = "(set, hidden)"
		}
		if _, err := fmt.Fprintf(w, "%s: %q\n", s.name, v); err != nil {
			return err
		}
	}
	return nil
}

// displayAddr turns a listen address into one a person can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
