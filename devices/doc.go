// Package devices owns what CareBed knows about the things installed in a
// home: beds, devices, the observations they make, and how each payload
// format on the wire becomes an Observation.
//
// Every message, whatever its format, becomes the same typed Observation
// before any rule sees it. Decoding never guesses identity from the payload
// alone: the registry says which bed a device belongs to.
//
// This package must never import a transport (MQTT, HTTP, InfluxDB) or a
// configuration loader, and never logs an elder's personal data.
package devices
