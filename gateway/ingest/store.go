package ingest

import "github.com/eclipse/paho.mqtt.golang/packets"

// noStore is paho's message store for a client that only receives and
// acknowledges QoS1 after its own durable journal: paho's in-memory store
// would only remember, per message, what the journal and the broker's
// session already keep (an unacknowledged message is redelivered by the
// broker and recognised as a duplicate), at the cost of two formatted keys
// and two map operations per message.
type noStore struct{}

func (noStore) Open()                             {}
func (noStore) Put(string, packets.ControlPacket) {}
func (noStore) Get(string) packets.ControlPacket  { return nil }
func (noStore) All() []string                     { return nil }
func (noStore) Del(string)                        {}
func (noStore) Close()                            {}
func (noStore) Reset()                            {}
