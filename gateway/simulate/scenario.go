package simulate

import (
	"time"

	"carebed/devices"
)

// scenario is an incident scripted on the first bed of the fleet: one-shot
// steps at fixed wall-clock offsets from the start, and standing changes to
// that bed's ambient traffic.
type scenario struct {
	steps       []step
	fallen      bool          // the elder lies on the floor: empty bed, no motion, door or visit
	declineOver time.Duration // vitals decline over this long (0: no decline)
	silentAfter time.Duration // the vitals monitor goes silent after this long (0: never)
	noVisits    bool          // no caregiver visits
}

// step is one scripted message.
type step struct {
	after time.Duration
	kind  stepKind
}

type stepKind uint8

// stream is the stream a step's device is driven for: a run limited to
// another stream leaves the step out.
func (k stepKind) stream() devices.Stream {
	switch k {
	case stepFall:
		return devices.StreamFall
	case stepSOSPress, stepSOSCancel:
		return devices.StreamSOS
	default:
		return devices.StreamVitals
	}
}

const (
	stepFall          stepKind = iota // fall sensor: {"state":"fall"}
	stepSOSPress                      // SOS button: {"action":"press"}
	stepSOSCancel                     // SOS button: {"action":"cancel"}
	stepVitalsOffline                 // vitals monitor availability: offline (retained)
)

// Timings of the scripts (Options.Scenario).
const (
	sosCancelAfter  = 2 * time.Minute
	declineDuration = 10 * time.Minute
	silentAfter     = time.Minute
)

// Vital signs at the end of the decline, and where the heart rate starts.
const (
	declineSpO2From, declineSpO2To = 97, 88
	declineHRFrom, declineHRTo     = 75, 135
)

// newScenario returns the script of the named scenario ("" for none).
func newScenario(name string) scenario {
	switch name {
	case ScenarioFallAtNight:
		return scenario{fallen: true, steps: []step{{0, stepFall}}}
	case ScenarioSOS:
		return scenario{steps: []step{{0, stepSOSPress}, {sosCancelAfter, stepSOSCancel}}}
	case ScenarioVitalsDecline:
		return scenario{declineOver: declineDuration}
	case ScenarioDeviceSilent:
		return scenario{silentAfter: silentAfter, steps: []step{{silentAfter, stepVitalsOffline}}}
	case ScenarioMissedVisit:
		return scenario{noVisits: true}
	}
	return scenario{}
}

// silent reports whether the vitals monitor is silent elapsed after the
// start.
func (s *scenario) silent(elapsed time.Duration) bool {
	return s.silentAfter > 0 && elapsed >= s.silentAfter
}

// decline changes a reading of the first bed elapsed after the start: the
// elder stays in bed while SpO2 falls and the heart rate rises linearly,
// then both hold.
func (s *scenario) decline(b *simBed, v vitalsReading, elapsed time.Duration) vitalsReading {
	frac := clamp(float64(elapsed)/float64(s.declineOver), 0, 1)
	if !v.InBed || v.RespRate == 0 {
		v = vitalsReading{RespRate: clampInt(b.rrBase, 12, 20), TempC: 36.7, InBed: true, Movement: 3}
	}
	v.HeartRate = clampInt(declineHRFrom+(declineHRTo-declineHRFrom)*frac+b.rng.NormFloat64(), 40, 140)
	v.SpO2 = clampInt(declineSpO2From-(declineSpO2From-declineSpO2To)*frac, 80, 100)
	return v
}
