package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"carebed/devices"
)

// BedState is the persisted rule state of one bed: what the gateway saves
// with each journal batch and gives back to Restore after a restart. Data
// is compact JSON (see bedSnapshot); nil Data means the bed was removed and
// its saved state should be deleted.
type BedState struct {
	BedID string
	Data  []byte
}

// bedSnapshot is the persisted form of a ruleBed, version 1. Times are
// Unix nanoseconds of receive times; empty fields are left out, so a bed
// with nothing going on is {"v":1,"a":"agency","act":...,"d":[...]}.
type bedSnapshot struct {
	V        int              `json:"v"`
	Agency   string           `json:"a,omitempty"`
	Abnormal map[string]int64 `json:"abn,omitempty"` // sign -> abnormal since
	Raised   []string         `json:"vr,omitempty"`  // signs that raised vitals
	Open     []Kind           `json:"open,omitempty"`
	NoValid  *timedDevice     `json:"nosig,omitempty"`
	OutOfBed *timedDevice     `json:"exit,omitempty"`
	DoorOpen *timedDevice     `json:"door,omitempty"`
	Fall     *fallSnapshot    `json:"fall,omitempty"`
	Activity int64            `json:"act,omitempty"`
	Devices  []deviceSnapshot `json:"d,omitempty"`
}

type timedDevice struct {
	At     int64  `json:"t"`
	Device string `json:"dev,omitempty"`
}

type fallSnapshot struct {
	Onset     int64  `json:"t"`
	Device    string `json:"dev,omitempty"`
	Severity  uint8  `json:"sev"`
	Recovered bool   `json:"rec,omitempty"`
	LongLie   int64  `json:"ll,omitempty"`
}

type deviceSnapshot struct {
	ID        string       `json:"id"`
	Kind      devices.Kind `json:"k,omitempty"`
	Levels    string       `json:"l,omitempty"` // one character per level slot, in ruleLevelNames order
	Flags     []string     `json:"f,omitempty"`
	FirstSeen int64        `json:"fs,omitempty"`
	LastPress int64        `json:"lp,omitempty"`
}

const ruleSnapshotVersion = 1

func ruleTimed(at int64, dev string) *timedDevice {
	if at == 0 {
		return nil
	}
	return &timedDevice{At: at, Device: dev}
}

// marshal writes b's material state.
func (b *ruleBed) marshal() []byte {
	s := bedSnapshot{V: ruleSnapshotVersion, Agency: b.agency, Activity: b.activity,
		NoValid: ruleTimed(b.noValid, b.noValidDev), OutOfBed: ruleTimed(b.outOfBed, b.exitDev), DoorOpen: ruleTimed(b.doorOpen, b.doorDev)}
	for i, t := range b.abnormal {
		if t != 0 {
			if s.Abnormal == nil {
				s.Abnormal = make(map[string]int64, numSigns)
			}
			s.Abnormal[ruleSignNames[i]] = t
		}
		if b.raised&(1<<i) != 0 {
			s.Raised = append(s.Raised, ruleSignNames[i])
		}
	}
	for i, k := range ruleOpenKinds {
		if b.open&(1<<i) != 0 {
			s.Open = append(s.Open, k)
		}
	}
	if b.fallOnset != 0 {
		s.Fall = &fallSnapshot{Onset: b.fallOnset, Device: b.fallDev, Severity: b.fallSev, Recovered: b.fallRecovered, LongLie: b.longLie}
	}
	for i := range b.devs {
		d := &b.devs[i]
		ds := deviceSnapshot{ID: d.id, Kind: d.kind, FirstSeen: d.firstSeen, LastPress: d.lastPress}
		if d.levels != ([numLevels]uint8{}) {
			var l [numLevels]byte
			for j, v := range d.levels {
				chars := boolChars
				if j == lvState {
					chars = stateChars
				}
				l[j] = chars[v]
			}
			ds.Levels = string(l[:])
		}
		for j, name := range ruleFlagNames {
			if d.flags&(1<<j) != 0 {
				ds.Flags = append(ds.Flags, name)
			}
		}
		s.Devices = append(s.Devices, ds)
	}
	data, err := json.Marshal(s)
	if err != nil {
		panic("alerts: marshal rule state: " + err.Error()) // only strings and integers
	}
	return data
}

// unmarshalBed reads a snapshot into a new ruleBed (without rules).
func unmarshalBed(id string, data []byte) (*ruleBed, error) {
	var s bedSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.V != ruleSnapshotVersion {
		return nil, fmt.Errorf("version %d, want %d", s.V, ruleSnapshotVersion)
	}
	b := &ruleBed{id: id, agency: s.Agency, activity: s.Activity, heapIdx: -1}
	for name, t := range s.Abnormal {
		i := slices.Index(ruleSignNames[:], name)
		if i < 0 {
			return nil, fmt.Errorf("unknown vital sign %q", name)
		}
		b.abnormal[i] = t
	}
	for _, name := range s.Raised {
		i := slices.Index(ruleSignNames[:], name)
		if i < 0 {
			return nil, fmt.Errorf("unknown vital sign %q", name)
		}
		b.raised |= 1 << i
	}
	for _, k := range s.Open {
		i := slices.Index(ruleOpenKinds[:], k)
		if i < 0 {
			return nil, fmt.Errorf("open kind %q is not a bed condition", k)
		}
		b.open |= 1 << i
	}
	if t := s.NoValid; t != nil {
		b.noValid, b.noValidDev = t.At, t.Device
	}
	if t := s.OutOfBed; t != nil {
		b.outOfBed, b.exitDev = t.At, t.Device
	}
	if t := s.DoorOpen; t != nil {
		b.doorOpen, b.doorDev = t.At, t.Device
	}
	if f := s.Fall; f != nil {
		if f.Severity < 1 || f.Severity > 2 {
			return nil, fmt.Errorf("fall severity %d, want 1 or 2", f.Severity)
		}
		b.fallOnset, b.fallDev, b.fallSev, b.fallRecovered, b.longLie = f.Onset, f.Device, f.Severity, f.Recovered, f.LongLie
	}
	b.devs = make([]ruleDevice, 0, len(s.Devices))
	for _, ds := range s.Devices {
		d, err := ds.device()
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", ds.ID, err)
		}
		if b.device(d.id) != nil {
			return nil, fmt.Errorf("device %q given twice", d.id)
		}
		b.devs = append(b.devs, d)
	}
	return b, nil
}

func (ds deviceSnapshot) device() (ruleDevice, error) {
	if ds.ID == "" {
		return ruleDevice{}, errors.New("no id")
	}
	d := ruleDevice{id: ds.ID, kind: internKind(ds.Kind), firstSeen: ds.FirstSeen, lastPress: ds.LastPress}
	if ds.Levels != "" {
		if len(ds.Levels) != numLevels {
			return ruleDevice{}, fmt.Errorf("levels %q: want %d characters", ds.Levels, numLevels)
		}
		for j := range numLevels {
			chars := boolChars
			if j == lvState {
				chars = stateChars
			}
			v := strings.IndexByte(chars, ds.Levels[j])
			if v < 0 {
				return ruleDevice{}, fmt.Errorf("level %s %q: want one of %q", ruleLevelNames[j], ds.Levels[j], chars)
			}
			d.levels[j] = uint8(v)
		}
	}
	for _, name := range ds.Flags {
		j := slices.Index(ruleFlagNames[:], name)
		if j < 0 {
			return ruleDevice{}, fmt.Errorf("unknown flag %q", name)
		}
		d.flags |= 1 << j
	}
	return d, nil
}

// internKind returns the package constant for a known kind, so that
// restored devices share its string.
func internKind(k devices.Kind) devices.Kind {
	if i := slices.Index(devices.Kinds, k); i >= 0 {
		return devices.Kinds[i]
	}
	return k
}

// TakeDirty returns the state of every bed whose material state changed
// since the last call (and a nil Data for every bed removed since), in
// the order they changed, for the gateway to save in the transaction of
// the batch that changed them. A failed save gives them back with
// MarkDirty.
func (e *Engine) TakeDirty() []BedState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.dirty) == 0 && len(e.removed) == 0 {
		return nil
	}
	out := make([]BedState, 0, len(e.dirty)+len(e.removed))
	for _, b := range e.dirty {
		b.dirty = false
		out = append(out, BedState{BedID: b.id, Data: b.marshal()})
	}
	removed := make([]string, 0, len(e.removed))
	for id := range e.removed {
		removed = append(removed, id)
	}
	slices.Sort(removed)
	for _, id := range removed {
		out = append(out, BedState{BedID: id})
	}
	e.dirty = e.dirty[:0]
	e.removed = make(map[string]struct{})
	return out
}

// MarkDirty puts beds back into what TakeDirty returns, after their save
// failed. An id the engine no longer knows comes back as removed.
func (e *Engine) MarkDirty(ids []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		if b := e.beds[id]; b != nil {
			e.markDirty(b)
		} else {
			e.removed[id] = struct{}{}
		}
	}
}

// Restore loads the states saved from TakeDirty, after a restart and
// before any Observe. Timers resume from the saved times, so they fire
// when they would have without the restart; rules (PutBed) may be given
// before or after. A state that cannot be read fails the whole restore and
// leaves the engine as it was. Restored beds are not dirty.
func (e *Engine) Restore(states []BedState) error {
	loaded := make([]*ruleBed, 0, len(states))
	seen := make(map[string]bool, len(states))
	for _, st := range states {
		if st.BedID == "" {
			return errors.New("restore rule state: a state without a bed id")
		}
		if seen[st.BedID] {
			return fmt.Errorf("restore rule state of bed %q: given twice", st.BedID)
		}
		seen[st.BedID] = true
		if len(st.Data) == 0 {
			continue // a removed bed
		}
		b, err := unmarshalBed(strings.Clone(st.BedID), st.Data)
		if err != nil {
			return fmt.Errorf("restore rule state of bed %q: %w", st.BedID, err)
		}
		loaded = append(loaded, b)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range loaded {
		if old := e.beds[b.id]; old != nil {
			b.rules, b.agencyPut = old.rules, old.agencyPut
			if old.agencyPut {
				b.agency = old.agency
			}
			e.heap.remove(old)
			if old.dirty {
				e.dirty = slices.DeleteFunc(e.dirty, func(x *ruleBed) bool { return x == old })
			}
		} else {
			b.rules = e.defaults
		}
		e.beds[b.id] = b
		e.reschedule(b)
	}
	return nil
}
