package simulate

import (
	"fmt"
	"net/url"
	"time"

	"carebed/devices"
)

// Options says what to simulate and how fast.
type Options struct {
	Broker   string  // tcp://host:port (mqtt:// is accepted as tcp://)
	Beds     int     // number of beds; at least 1
	FirstBed int     // number of the first bed (bed-0001 is 1); 0 means 1
	Agency   string  // agency id; "" means "demo-agency"
	Rate     float64 // total messages per second across all beds; 0 means the realistic cadence

	// Fast publishes as fast as the broker acknowledges, keeping a bounded
	// number of messages in flight per connection, for load tests. Rate is
	// ignored. Only vitals are sent unless Stream says otherwise.
	//
	// ts stays unique per device by running ahead of the wall clock when a
	// device sends more than one message a millisecond; the gateway rejects
	// a ts more than 5 min ahead of its clock, so keep Beds at least the
	// expected msgs/s divided by 1,000 (for example 200 beds for 200,000
	// msgs/s).
	Fast bool

	Count    int           // stop after this many traffic messages (availability not counted); 0 means no limit
	Duration time.Duration // stop after this long; 0 means until the context ends

	// Scenario scripts an incident on the first bed: "fall-at-night",
	// "sos", "vitals-decline", "device-silent" or "missed-visit" (see
	// Scenarios); "" means none.
	Scenario string

	QoS   byte // 1 or 2; 0 means 1 (the simulator always wants acknowledgements)
	Conns int  // MQTT connections the beds are spread over; 0 means 1
	Seed  int64

	// Clock gives the wall time of payloads and scripts; nil means
	// time.Now. Run waits with real timers, so a Clock given to Run must
	// advance with real time.
	Clock func() time.Time

	// Stream limits traffic to one stream ("vitals", "env", "status",
	// "sos", "fall", "visit"); "" means every stream, except with Fast,
	// where it means "vitals". Only the devices that publish the stream
	// are announced online and offline.
	Stream string

	// OmitTimestamps leaves ts out of payloads, so the gateway stamps them
	// with the receive time. The zero value includes ts.
	OmitTimestamps bool
}

// Stats counts what Run published. Published counts every publish handed to
// the client, availability messages included; Acked those the broker
// acknowledged; Errors those that failed.
type Stats struct {
	Published, Acked, Errors uint64
}

// Scenarios lists the scripted incidents, each played on the first bed.
var Scenarios = []string{ScenarioFallAtNight, ScenarioSOS, ScenarioVitalsDecline, ScenarioDeviceSilent, ScenarioMissedVisit}

// Scenario names.
const (
	// ScenarioFallAtNight: at start the fall sensor reports "fall" and the
	// bed is empty (vitals heart_rate 0, in_bed false); then no motion, no
	// door, no visit: a long lie.
	ScenarioFallAtNight = "fall-at-night"
	// ScenarioSOS: the SOS button is pressed at start and cancelled after
	// 2 min.
	ScenarioSOS = "sos"
	// ScenarioVitalsDecline: over 10 min SpO2 falls from 97 to 88 and the
	// heart rate rises to 135, and then they stay there; the elder stays in
	// bed.
	ScenarioVitalsDecline = "vitals-decline"
	// ScenarioDeviceSilent: the vitals monitor publishes for 1 min, then
	// its availability goes offline and it says nothing more.
	ScenarioDeviceSilent = "device-silent"
	// ScenarioMissedVisit: no caregiver visits the first bed; the others
	// are visited as usual.
	ScenarioMissedVisit = "missed-visit"
)

// defaultAgency is the agency id when Options.Agency is empty.
const defaultAgency = "demo-agency"

// withDefaults returns opts with its zero values replaced by the defaults,
// or an error naming the option at fault.
func (o Options) withDefaults() (Options, error) {
	if o.Beds < 1 {
		return o, fmt.Errorf("simulate: Beds is %d, want at least 1", o.Beds)
	}
	if o.FirstBed == 0 {
		o.FirstBed = 1
	}
	if o.FirstBed < 0 {
		return o, fmt.Errorf("simulate: FirstBed is %d, want at least 1", o.FirstBed)
	}
	if o.Agency == "" {
		o.Agency = defaultAgency
	}
	if o.Rate < 0 {
		return o, fmt.Errorf("simulate: Rate is %v, want 0 (realistic) or more", o.Rate)
	}
	if o.Count < 0 {
		return o, fmt.Errorf("simulate: Count is %d, want 0 (no limit) or more", o.Count)
	}
	if o.Duration < 0 {
		return o, fmt.Errorf("simulate: Duration is %v, want 0 (no limit) or more", o.Duration)
	}
	if o.QoS == 0 {
		o.QoS = 1
	}
	if o.QoS > 2 {
		return o, fmt.Errorf("simulate: QoS is %d, want 1 or 2", o.QoS)
	}
	if o.Conns == 0 {
		o.Conns = 1
	}
	if o.Conns < 0 {
		return o, fmt.Errorf("simulate: Conns is %d, want at least 1", o.Conns)
	}
	if o.Conns > o.Beds {
		o.Conns = o.Beds // a connection drives whole beds
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Fast && o.Stream == "" {
		o.Stream = string(devices.StreamVitals)
	}
	if o.Stream != "" {
		if _, ok := trafficStreams[devices.Stream(o.Stream)]; !ok {
			return o, fmt.Errorf("simulate: Stream %q is not one of vitals, env, status, sos, fall, visit", o.Stream)
		}
	}
	if o.Scenario != "" && !validScenario(o.Scenario) {
		return o, fmt.Errorf("simulate: unknown Scenario %q; known: %v", o.Scenario, Scenarios)
	}
	return o, nil
}

// checkBroker validates the broker URL: it must be tcp://, mqtt://, ssl://,
// tls://, mqtts://, ws:// or wss:// with a host.
func checkBroker(broker string) error {
	if broker == "" {
		return fmt.Errorf("simulate: Broker is empty; want tcp://host:port")
	}
	u, err := url.Parse(broker)
	if err != nil {
		return fmt.Errorf("simulate: Broker %q: %w", broker, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("simulate: Broker %q: scheme %q, want tcp://host:port", broker, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("simulate: Broker %q has no host; want tcp://host:port", broker)
	}
	return nil
}

func validScenario(name string) bool {
	for _, s := range Scenarios {
		if s == name {
			return true
		}
	}
	return false
}

// trafficStreams are the streams Options.Stream may select.
var trafficStreams = map[devices.Stream]bool{
	devices.StreamVitals: true, devices.StreamEnv: true, devices.StreamStatus: true,
	devices.StreamSOS: true, devices.StreamFall: true, devices.StreamVisit: true,
}
