package probe

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// samples is a Sampler that keeps what it is given.
type samples struct {
	mu   sync.Mutex
	list []Sample
}

func (s *samples) Sample(x Sample) {
	s.mu.Lock()
	s.list = append(s.list, x)
	s.mu.Unlock()
}

// outcomes counts the samples of each outcome.
func (s *samples) outcomes() map[Outcome]uint64 {
	n := map[Outcome]uint64{}
	for _, x := range s.list {
		n[x.Outcome]++
	}
	return n
}

// event is one thing a tally can be told about round trip seq.
type event struct {
	what Outcome
	seq  uint64
}

func (e event) tell(t *tally, start time.Time) {
	sent := start.Add(time.Duration(e.seq) * time.Millisecond)
	switch e.what {
	case OutcomeOK:
		t.intact(e.seq, sent, 20*time.Microsecond, 19*time.Microsecond)
	case OutcomeLost:
		t.lost(e.seq, sent)
	case OutcomeCorrupt:
		t.corrupt(e.seq, sent, 25*time.Microsecond)
	case OutcomeLate:
		t.late(e.seq, sent, 2*time.Second)
	case OutcomeDup:
		t.dup(e.seq, sent, 30*time.Microsecond)
	}
}

func events(what Outcome, seqs ...uint64) []event {
	var es []event
	for _, seq := range seqs {
		es = append(es, event{what, seq})
	}
	return es
}

// TestTallyRules: what each sequence of events counts, and samples.
func TestTallyRules(t *testing.T) {
	t.Parallel()
	ok, lost, corrupt, late, dup := OutcomeOK, OutcomeLost, OutcomeCorrupt, OutcomeLate, OutcomeDup
	tests := []struct {
		name    string
		warmup  int
		events  []event
		want    Counts
		samples []Outcome
	}{
		{"intact", 0, events(ok, 0, 1, 2), Counts{Sent: 3, Received: 3}, []Outcome{ok, ok, ok}},
		{"corrupt", 0, events(corrupt, 0), Counts{Sent: 1, Corrupt: 1}, []Outcome{corrupt}},
		{"lost", 0, events(lost, 0, 1), Counts{Sent: 2, Lost: 2}, []Outcome{lost, lost}},
		{"late moves a round trip from lost", 0, slices.Concat(events(lost, 0, 1), events(late, 0)),
			Counts{Sent: 2, Lost: 1, Late: 1}, []Outcome{lost, lost, late}},
		{"late with nothing lost is a dup", 0, slices.Concat(events(ok, 0), events(late, 0)),
			Counts{Sent: 1, Received: 1, Dup: 1}, []Outcome{ok, dup}},
		{"dups are replies, not round trips", 0, slices.Concat(events(ok, 0), events(dup, 0, 0)),
			Counts{Sent: 1, Received: 1, Dup: 2}, []Outcome{ok, dup, dup}},
		{"warm-up counts nowhere", 2, slices.Concat(events(lost, 0), events(late, 0), events(ok, 1, 2), events(dup, 1)),
			Counts{Sent: 1, Received: 1}, []Outcome{ok}},
		{"reordered", 0, events(ok, 0, 3, 1, 2, 4),
			Counts{Sent: 5, Received: 5, Reordered: 2, MaxReorder: 2}, []Outcome{ok, ok, ok, ok, ok}},
		{"reordered after warm-up only", 2, events(ok, 1, 0, 3, 2),
			Counts{Sent: 2, Received: 2, Reordered: 1, MaxReorder: 1}, []Outcome{ok, ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got samples
			start := time.Now()
			tl := newTally(Options{Warmup: tt.warmup, Samples: &got}, 3, start, false)
			for _, e := range tt.events {
				e.tell(&tl, start)
			}
			if tl.Counts != tt.want {
				t.Errorf("counts %+v\nwant   %+v", tl.Counts, tt.want)
			}
			var outcomes []Outcome
			for _, x := range got.list {
				outcomes = append(outcomes, x.Outcome)
				if want := time.Duration(x.Seq) * time.Millisecond; x.Conn != 3 || x.Sent != want {
					t.Errorf("sample %+v, want conn 3 sent at %v", x, want)
				}
			}
			if !slices.Equal(outcomes, tt.samples) {
				t.Errorf("samples %v, want %v", outcomes, tt.samples)
			}
			if tl.dist.Count() != tl.Received {
				t.Errorf("%d RTTs recorded for %d replies", tl.dist.Count(), tl.Received)
			}
		})
	}
}

// checkAddsUp fails the test unless c holds Counts' invariant.
func checkAddsUp(t *testing.T, c Counts) {
	t.Helper()
	if c.Sent != c.Received+c.Lost+c.Corrupt+c.Late {
		t.Errorf("sent %d != received %d + lost %d + corrupt %d + late %d", c.Sent, c.Received, c.Lost, c.Corrupt, c.Late)
	}
}

// TestTallyInvariant tells tallies random events, at random seqs and with
// some warm-up, and checks Counts' invariant after every one.
func TestTallyInvariant(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	outcomes := []Outcome{OutcomeOK, OutcomeLost, OutcomeCorrupt, OutcomeLate, OutcomeDup}
	start := time.Now()
	for range 200 {
		tl := newTally(Options{Warmup: rng.IntN(3)}, 0, start, false)
		for range 100 {
			event{outcomes[rng.IntN(len(outcomes))], rng.Uint64N(50)}.tell(&tl, start)
			checkAddsUp(t, tl.Counts)
		}
	}
}

// TestTallySampleUnknownSend: a reply whose send is no longer known has
// neither send time nor RTT in its sample.
func TestTallySampleUnknownSend(t *testing.T) {
	t.Parallel()
	var got samples
	tl := newTally(Options{Samples: &got}, 0, time.Now(), false)
	tl.stale(nil, 7, time.Now())
	if want := []Sample{{Seq: 7, Sent: -1, RTT: -1, Outcome: OutcomeDup}}; !slices.Equal(got.list, want) {
		t.Errorf("samples %+v, want %+v", got.list, want)
	}
}
