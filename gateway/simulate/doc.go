// Package simulate drives simulated home elderly-care beds: it publishes the
// traffic of N beds' devices to an MQTT broker in the native format
// (carebed/<device_id>/<stream>, DESIGN.md "The public contract (v1)"), for
// demos, end-to-end tests and load tests, and registers those beds and
// devices through the HTTP API.
//
// What it publishes, per bed (the devices are listed by Fleet):
//
//   - vitals from the bed's vital-sign radar every 5 s: heart rate around
//     60-80 with a slow drift, lower at night (00:00-06:00 Asia/Shanghai),
//     respiration 12-20, SpO2 94-99, temperature 36.2-37.2, in_bed and
//     movement. An empty bed reads heart_rate 0 and resp_rate 0 with
//     in_bed false, as radars do; about one reading in 500 is the radar's
//     255 "invalid" glitch.
//   - env: motion while someone is up (the elder out of bed, or a
//     caregiver in the home), the door a few times a day, room temperature
//     and humidity every 10 min, and a heartbeat of the smoke, gas and
//     water sensors every hour.
//   - status of every device every 30 min (battery slowly declining on
//     battery devices, rssi); the fall sensor's state every hour.
//   - visit: a caregiver visit of 62-95 min every day (check_in and
//     check_out from the bed's NFC visit reader, door open and close
//     around them).
//   - sos: a press, cancelled a minute or two later, about once a week per
//     bed.
//   - availability: retained "online" for every device at start, retained
//     "offline" for every device on a clean stop.
//
// Ambient traffic follows a simulated clock that starts at the wall clock.
// With the realistic cadence (Options.Rate 0) the simulated clock is the
// wall clock. With a Rate, or Fast, messages are sent faster or slower than
// their natural cadence, so the simulated day passes faster or slower; the
// mix stays the same (mostly vitals). Payload timestamps (ts) are always the
// wall clock, made strictly increasing per device so that every message is
// a distinct time-series point. Scripted incidents (Options.Scenario) run on
// the wall clock whatever the rate.
//
// Every random choice comes from Options.Seed and the bed number, so a run
// is reproducible and a bed's data does not depend on how many beds run.
//
// The package must never print tokens or the made-up personal data of the
// beds, and must never keep publishing after Run returns.
package simulate
