package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	"carebed/devices"
)

// shanghai is the civil time of the beds (DESIGN.md: Asia/Shanghai). China
// has kept UTC+8 without daylight saving since 1991, so a fixed zone is the
// fallback when the system has no zone database.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// simDevice is one simulated device: its topics and its message counters.
type simDevice struct {
	topic       string // its traffic stream
	statusTopic string
	availTopic  string
	lastTS      int64  // last ts sent, Unix ms; ts is kept strictly increasing
	seq         uint64 // messages sent, availability excluded
	rssi        int    // typical signal, dBm
	battery     float64
	drain       float64 // battery % per hour; battery < 0 means mains powered
}

// simBed is one simulated home: the elder's physiology, the daily routine and
// the devices. Its random choices come from its own generator, seeded by the
// run's seed and the bed number, and from hashes of (bed, time slot), so
// that a bed behaves the same whatever the other beds do.
type simBed struct {
	id    string
	index int // position in the fleet; 0 is the bed scenarios play on
	rng   *rand.Rand
	key   uint64    // hash key for time-slot choices
	start time.Time // simulated start, for battery drain
	dev   [numRoles]simDevice

	hrBase, rrBase, spo2Base, tempBase float64
	phase1, phase2                     float64
	sleepAt, wakeAt                    int // minutes after local midnight
	bedridden                          bool
	visitAt                            int // usual start of the daily visit, minutes after midnight
	roomTemp, roomHumidity             float64

	// the last 10-min slot inBed drew, cached: vitals ask 120 times a slot
	slot    int64
	slotU   float64
	slotSet bool
}

// newSimBed makes bed number n, the index-th of the fleet.
func newSimBed(seed int64, n, index int, start time.Time, level string) *simBed {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
	b := &simBed{
		id: BedID(n), index: index, rng: rng, start: start,
		key:          mix(uint64(seed), uint64(n), 0x9e37),
		hrBase:       63 + rng.Float64()*12,
		rrBase:       14 + rng.Float64()*3,
		spo2Base:     96 + rng.Float64()*2,
		tempBase:     36.55 + rng.Float64()*0.2,
		phase1:       rng.Float64() * 2 * math.Pi,
		phase2:       rng.Float64() * 2 * math.Pi,
		sleepAt:      21*60 + rng.IntN(91),     // 21:00-22:30
		wakeAt:       5*60 + 30 + rng.IntN(91), // 05:30-07:00
		bedridden:    level == "severe" || level == "total",
		visitAt:      8*60 + rng.IntN(8*60), // 08:00-16:00
		roomTemp:     21 + rng.Float64()*4,
		roomHumidity: 45 + rng.Float64()*20,
	}
	for r := range numRoles {
		id := deviceID(b.id, r)
		d := &b.dev[r]
		d.topic = "carebed/" + id + "/" + string(roles[r].stream)
		d.statusTopic = "carebed/" + id + "/" + string(devices.StreamStatus)
		d.availTopic = "carebed/" + id + "/" + string(devices.StreamAvailability)
		d.rssi = -82 + rng.IntN(38)
		d.battery, d.drain = -1, 0
		if roles[r].battery {
			d.battery = 30 + rng.Float64()*70
			d.drain = 0.004 + rng.Float64()*0.016
		}
	}
	return b
}

// minuteOfDay is the local (Asia/Shanghai) minute after midnight of t.
func minuteOfDay(t time.Time) int {
	l := t.In(shanghai)
	return l.Hour()*60 + l.Minute()
}

// asleep reports whether the local minute mod is in the bed's night.
func (b *simBed) asleep(mod int) bool { return mod >= b.sleepAt || mod < b.wakeAt }

// inBed reports whether the elder is in bed at t. Slots of 10 min decide:
// at night a slot in 16 holds a 4-min trip to the toilet; by day the elder
// is up most of the time unless bedridden, and naps after lunch.
func (b *simBed) inBed(t time.Time) bool {
	sec := t.Unix()
	slot := sec / 600
	if slot != b.slot || !b.slotSet {
		b.slot, b.slotU, b.slotSet = slot, unit(mix(b.key, uint64(slot), 1)), true
	}
	u := b.slotU
	mod := minuteOfDay(t)
	if b.asleep(mod) {
		return !(u < 1.0/16 && sec-slot*600 < 240)
	}
	p := 0.2
	if b.bedridden {
		p = 0.75
	}
	if mod >= 12*60+30 && mod < 14*60 {
		p = max(p, 0.8)
	}
	return u >= 1-p
}

// visitWindow returns the caregiver's visit on the local day of t: it starts
// within half an hour of the bed's usual time and lasts 62-95 min.
func (b *simBed) visitWindow(t time.Time) (from, to time.Time) {
	y, m, d := t.In(shanghai).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, shanghai)
	h := mix(b.key, uint64(y*400+int(m)*32+d), 2)
	from = midnight.Add(time.Duration(b.visitAt-30+int(h%61)) * time.Minute)
	to = from.Add(time.Duration(62+int(h>>8%34)) * time.Minute)
	return from, to
}

// visiting reports whether a caregiver is in the home at t.
func (b *simBed) visiting(t time.Time) bool {
	from, to := b.visitWindow(t)
	return !t.Before(from) && t.Before(to)
}

// vitals is what the radar reads at t.
func (b *simBed) vitals(t time.Time) vitalsReading {
	if !b.inBed(t) {
		// An empty bed: the radar has no heart or breathing to read.
		return vitalsReading{}
	}
	mod := minuteOfDay(t)
	s := float64(t.UnixMilli()) / 1000
	night := mod < 6*60
	hr := b.hrBase + 3*math.Sin(2*math.Pi*s/18000+b.phase1) + 2*math.Sin(2*math.Pi*s/2820+b.phase2)
	rr := b.rrBase + 0.8*math.Sin(2*math.Pi*s/7200+b.phase2)
	var movement float64
	switch {
	case night:
		hr -= 7
		rr -= 1.5
		movement = b.rng.ExpFloat64() * 4
	case b.asleep(mod):
		hr -= 3
		rr -= 0.8
		movement = b.rng.ExpFloat64() * 6
	default:
		movement = 8 + b.rng.ExpFloat64()*12
	}
	if b.rng.Float64() < 0.03 {
		movement += 20 + b.rng.Float64()*30 // turning over
	}
	// Body temperature is lowest around 04:00 and highest around 16:00.
	temp := b.tempBase - 0.25*math.Cos(2*math.Pi*float64(mod-240)/1440)
	v := vitalsReading{
		HeartRate: clampInt(hr+b.rng.NormFloat64()*1.5, 45, 110),
		RespRate:  clampInt(rr+b.rng.NormFloat64()*0.7, 12, 20),
		SpO2:      clampInt(b.spo2Base+b.rng.NormFloat64()*0.8, 94, 99),
		TempC:     math.Round(clamp(temp+b.rng.NormFloat64()*0.05, 36.2, 37.2)*10) / 10,
		InBed:     true,
		Movement:  clampInt(movement, 0, 100),
	}
	if b.rng.Float64() < 0.002 {
		v.HeartRate = 255 // the radar's "invalid reading"
	}
	return v
}

// climate is the room temperature and humidity at t.
func (b *simBed) climate(t time.Time) (float64, int) {
	mod := minuteOfDay(t)
	temp := b.roomTemp - 1.5*math.Cos(2*math.Pi*float64(mod-180)/1440) + b.rng.NormFloat64()*0.2
	hum := b.roomHumidity + 4*math.Cos(2*math.Pi*float64(mod-180)/1440) + b.rng.NormFloat64()
	return math.Round(clamp(temp, 5, 40)*10) / 10, clampInt(hum, 10, 95)
}

// status is the battery (-1 when mains powered) and rssi of the device of
// role r at t.
func (b *simBed) status(r role, t time.Time) (battery, rssi int) {
	d := &b.dev[r]
	battery = -1
	if d.battery >= 0 {
		battery = clampInt(d.battery-d.drain*t.Sub(b.start).Hours(), 1, 100)
	}
	return battery, clampInt(float64(d.rssi)+b.rng.NormFloat64()*2, -100, -20)
}

func clamp(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }

func clampInt(x, lo, hi float64) int { return int(math.Round(clamp(x, lo, hi))) }

// mix hashes three words (splitmix64 finalisers).
func mix(a, b, c uint64) uint64 {
	h := a
	for _, x := range [...]uint64{b, c} {
		h ^= x + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
