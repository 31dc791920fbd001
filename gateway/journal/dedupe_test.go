package journal

import (
	"context"
	"slices"
	"testing"
)

type step struct {
	topic, payload string
	dup            bool
}

func (s step) record() Record {
	topic := s.topic
	if topic == "" {
		topic = "carebed/dev-1/sos"
	}
	return Record{Received: t0, Topic: topic, Payload: []byte(s.payload), Duplicate: s.dup}
}

func TestDuplicates(t *testing.T) {
	tests := []struct {
		name     string
		window   int
		steps    []step
		want     []string // payloads written, in order
		wantDups uint64
	}{
		{"flagged repeat of a seen record is dropped", 10,
			[]step{{payload: "A"}, {payload: "A", dup: true}}, []string{"A"}, 1},
		{"unflagged repeat is kept", 10,
			[]step{{payload: "A"}, {payload: "A"}}, []string{"A", "A"}, 0},
		{"flagged but never seen is kept", 10,
			[]step{{payload: "A", dup: true}}, []string{"A"}, 0},
		{"same payload on another topic is kept", 10,
			[]step{{payload: "A"}, {topic: "carebed/dev-2/sos", payload: "A", dup: true}}, []string{"A", "A"}, 0},
		{"still in the window", 3,
			[]step{{payload: "A"}, {payload: "B"}, {payload: "C"}, {payload: "A", dup: true}}, []string{"A", "B", "C"}, 1},
		{"evicted from the window", 2,
			[]step{{payload: "A"}, {payload: "B"}, {payload: "C"}, {payload: "A", dup: true}}, []string{"A", "B", "C", "A"}, 0},
		{"a dropped duplicate does not enter the window", 2,
			[]step{{payload: "A"}, {payload: "B"}, {payload: "A", dup: true}, {payload: "C"}, {payload: "A", dup: true}},
			[]string{"A", "B", "C", "A"}, 1},
		{"redelivered twice", 10,
			[]step{{payload: "A"}, {payload: "A", dup: true}, {payload: "A", dup: true}}, []string{"A"}, 2},
	}
	for _, tt := range tests {
		for _, oneBatch := range []bool{true, false} {
			name := tt.name + "/separate commits"
			if oneBatch {
				name = tt.name + "/one batch"
			}
			t.Run(name, func(t *testing.T) {
				j := openJournal(t, Options{Dir: t.TempDir(), DedupeWindow: tt.window, NoSync: true})
				var acked []int
				if oneBatch {
					// Appended before Run starts: all in the first batch.
					done := make(chan struct{})
					for i, s := range tt.steps {
						ack := func() {
							acked = append(acked, i)
							if i == len(tt.steps)-1 {
								close(done)
							}
						}
						if err := j.Append(context.Background(), s.record(), ack); err != nil {
							t.Fatalf("Append(%+v) = %v, want nil", s, err)
						}
					}
					run(t, j)
					<-done
				} else {
					run(t, j)
					for i, s := range tt.steps {
						done := make(chan struct{})
						if err := j.Append(context.Background(), s.record(), func() { acked = append(acked, i); close(done) }); err != nil {
							t.Fatalf("Append(%+v) = %v, want nil", s, err)
						}
						<-done
					}
				}
				if want := seq(len(tt.steps)); !slices.Equal(acked, want) {
					t.Errorf("acks = %v, want %v (dropped duplicates are acked too)", acked, want)
				}
				if got := payloads(readAll(t, j)); !slices.Equal(got, tt.want) {
					t.Errorf("written = %q, want %q", got, tt.want)
				}
				if got := j.Stats().Duplicates; got != tt.wantDups {
					t.Errorf("Stats().Duplicates = %d, want %d", got, tt.wantDups)
				}
			})
		}
	}
}

func payloads(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, string(e.Payload))
	}
	return s
}

func TestDuplicateWindowSurvivesReopen(t *testing.T) {
	tests := []struct {
		name   string
		window int
		before []step
		after  []step
		want   []string // payloads written after reopen
	}{
		{"seen before restart is dropped", 10,
			[]step{{payload: "A"}, {payload: "B"}}, []step{{payload: "A", dup: true}, {payload: "B", dup: true}}, nil},
		{"unseen is kept", 10,
			[]step{{payload: "A"}}, []step{{payload: "C", dup: true}}, []string{"C"}},
		{"window rebuilt from the last entries only", 2,
			[]step{{payload: "A"}, {payload: "B"}, {payload: "C"}}, []step{{payload: "A", dup: true}, {payload: "C", dup: true}}, []string{"A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Dir: t.TempDir(), DedupeWindow: tt.window}
			j := openJournal(t, opts)
			stop := run(t, j)
			for _, s := range tt.before {
				appendWait(t, j, s.record())
			}
			stop()
			if err := j.Close(); err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}
			j = openJournal(t, opts)
			run(t, j)
			for _, s := range tt.after {
				appendWait(t, j, s.record())
			}
			got, err := j.Read(uint64(len(tt.before)+1), 100, nil)
			if err != nil {
				t.Fatalf("Read() = %v, want nil", err)
			}
			if !slices.Equal(payloads(got), tt.want) {
				t.Errorf("written after reopen = %q, want %q", payloads(got), tt.want)
			}
		})
	}
}
