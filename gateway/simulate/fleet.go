package simulate

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"carebed/devices"
)

// role is the job of one device in a bed's home; every bed has one device
// of each role.
type role uint8

const (
	roleVitals role = iota
	roleSOS
	roleFall
	roleDoor
	roleMotion
	roleSmoke
	roleGas
	roleWater
	roleVisit
	numRoles
)

// roles describes each role: the device id suffix, kind, model, whether it
// runs on a battery, and the traffic streams it publishes (every device
// also publishes status and availability).
var roles = [numRoles]struct {
	suffix  string
	kind    devices.Kind
	model   string
	battery bool
	stream  devices.Stream
}{
	roleVitals: {"vitals", devices.KindVitalsMonitor, "CB-VR60 vital-sign radar", false, devices.StreamVitals},
	roleSOS:    {"sos", devices.KindSOSButton, "CB-SB2 emergency button", true, devices.StreamSOS},
	roleFall:   {"fall", devices.KindFallSensor, "CB-FR60 fall radar", false, devices.StreamFall},
	roleDoor:   {"door", devices.KindDoorSensor, "CB-DC1 door contact", true, devices.StreamEnv},
	roleMotion: {"motion", devices.KindMotionSensor, "CB-PM1 motion and climate sensor", true, devices.StreamEnv},
	roleSmoke:  {"smoke", devices.KindSmokeAlarm, "CB-SA1 smoke alarm", true, devices.StreamEnv},
	roleGas:    {"gas", devices.KindGasAlarm, "CB-GA1 gas alarm", false, devices.StreamEnv},
	roleWater:  {"water", devices.KindWaterLeak, "CB-WL1 water leak sensor", true, devices.StreamEnv},
	roleVisit:  {"visit", devices.KindVisitReader, "CB-NFC1 visit reader", true, devices.StreamVisit},
}

// publishes reports whether a device of role r sends traffic on stream s;
// s "" means any stream.
func (r role) publishes(s devices.Stream) bool {
	return s == "" || s == devices.StreamStatus || roles[r].stream == s
}

// BedID is the id of bed number n: "bed-0001" for 1.
func BedID(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return "bed-" + s
}

// DeviceID is the id of the device of role r in bed bedID.
func deviceID(bedID string, r role) string { return bedID + "-" + roles[r].suffix }

// Fleet returns the agency, beds and devices that a run with opts drives.
// Beds are numbered from opts.FirstBed; each has a vitals monitor
// ("bed-0001-vitals"), an SOS button ("-sos"), a fall sensor ("-fall"), a
// door sensor ("-door"), a motion sensor that also reports room climate
// ("-motion"), smoke, gas and water-leak alarms ("-smoke", "-gas",
// "-water") and an NFC visit reader at the door ("-visit") that publishes
// the caregivers' check-in and check-out. Every device speaks the native
// format with Source "carebed/<device id>".
//
// The people are made up: believable, reproducible from opts.Seed, and never
// real. Contract dates are set around opts.Clock's month so that every bed
// is under contract now. Invalid counts give an empty fleet.
func Fleet(opts Options) (devices.Agency, []devices.Bed, []devices.Device) {
	if opts.FirstBed <= 0 {
		opts.FirstBed = 1
	}
	if opts.Agency == "" {
		opts.Agency = defaultAgency
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	now := opts.Clock().In(shanghai)
	agency := devices.Agency{ID: opts.Agency, Name: "颐康居家养老服务中心", District: district, Phone: "025-5861 0000"}
	var beds []devices.Bed
	var devs []devices.Device
	for i := range max(opts.Beds, 0) {
		n := opts.FirstBed + i
		b := makeBed(opts.Seed, n, opts.Agency, now)
		beds = append(beds, b)
		installed, _ := time.ParseInLocation(time.DateOnly, b.ContractStart, shanghai)
		for r := range numRoles {
			id := deviceID(b.ID, r)
			inst := installed.Add(9 * time.Hour)
			warranty := inst.AddDate(2, 0, 0)
			devs = append(devs, devices.Device{
				ID: id, BedID: b.ID, Kind: roles[r].kind, Format: devices.FormatNative,
				Source: "carebed/" + id, Model: roles[r].model,
				InstalledAt: &inst, WarrantyUntil: &warranty,
			})
		}
	}
	return agency, beds, devs
}

// district is where the demo agency and its beds are.
const district = "鼓楼区"

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"}
	// given names common among people born in the 1930s-1950s
	elderNames  = []string{"秀英", "桂英", "玉兰", "淑珍", "凤英", "桂兰", "秀兰", "建国", "国华", "德明", "永福", "志刚", "长根", "金生", "文华", "宝珍", "素琴", "福生"}
	familyNames = []string{"伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "霞"}
	streets     = []string{"中山路", "北京西路", "湖南路", "汉中路", "广州路", "云南路", "宁海路", "山西路", "虎踞路", "草场门大街"}
	villages    = []string{"江心洲街道民主村", "幕府山街道燕子矶村", "宝塔桥街道永济村"}
)

// makeBed makes up bed number n of the agency.
func makeBed(seed int64, n int, agency string, now time.Time) devices.Bed {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(n)<<8|0x5a))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	surname := pick(surnames)
	b := devices.Bed{
		ID:       BedID(n),
		AgencyID: agency,
		District: district,
		Elder: devices.Elder{
			Name:      surname + pick(elderNames),
			BirthYear: 1930 + rng.IntN(26),
		},
		RequiredMinutesPerDay: 60,
		RequiredHoursPerMonth: 30,
	}
	switch u := rng.Float64(); {
	case u < 0.30:
		b.Elder.DisabilityLevel = "light"
	case u < 0.65:
		b.Elder.DisabilityLevel = "moderate"
	case u < 0.90:
		b.Elder.DisabilityLevel = "severe"
	default:
		b.Elder.DisabilityLevel = "total"
	}
	b.Elder.SafetyNet = rng.Float64() < 0.4
	b.Elder.DrawsDisabilityNursingSubsidy = rng.Float64() < 0.1
	// The family caregiver living with the elder: a son or daughter with
	// the same surname, or a spouse.
	if rng.Float64() < 0.7 {
		b.FamilyCaregiver.Name = surname + pick(familyNames)
	} else {
		b.FamilyCaregiver.Name = pick(surnames) + pick(elderNames)
	}
	b.FamilyCaregiver.Phone = fmt.Sprintf("13%d%08d", 5+rng.IntN(5), rng.IntN(100000000))
	if rng.Float64() < 0.2 {
		b.AreaType = "rural"
		b.Address = fmt.Sprintf("南京市%s%s%d组%d号", district, pick(villages), 1+rng.IntN(12), 1+rng.IntN(60))
	} else {
		b.AreaType = "urban"
		b.Address = fmt.Sprintf("南京市%s%s%d号%d栋%d室", district, pick(streets), 1+rng.IntN(300), 1+rng.IntN(20), 101+100*rng.IntN(7)+rng.IntN(4))
	}
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, shanghai).AddDate(0, -1-rng.IntN(11), 0)
	b.ContractStart = start.Format(time.DateOnly)
	b.ContractEnd = start.AddDate(3, 0, -1).Format(time.DateOnly)
	return b
}
