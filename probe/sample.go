package probe

import "time"

// Outcome is what one Sample records.
type Outcome uint8

// The outcomes. Each measured round trip is first sampled as OK, Lost or
// Corrupt; a Lost one whose reply then comes is sampled again, as Late;
// every further copy of a reply is sampled as Dup.
const (
	OutcomeOK      Outcome = iota + 1 // the reply came back intact, in time
	OutcomeLost                       // no reply before the timeout
	OutcomeCorrupt                    // a reply came back but differed from what was sent
	OutcomeLate                       // the intact reply to a lost round trip, after its timeout
	OutcomeDup                        // a reply beyond one per round trip
)

// String returns the outcome's name in CSV: ok, lost, corrupt, late or dup.
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeLost:
		return "lost"
	case OutcomeCorrupt:
		return "corrupt"
	case OutcomeLate:
		return "late"
	case OutcomeDup:
		return "dup"
	}
	return "unknown"
}

// Sample is one event of one round trip, for output that lists them all,
// such as CSV.
type Sample struct {
	Conn int    // which of the run's connections, from 0
	Seq  uint64 // which of the connection's round trips, warm-up included
	// Sent is when the round trip was sent, since the run started;
	// negative when no longer known (a reply long after its timeout).
	Sent time.Duration
	// RTT is from Sent to the reply: 0 for OutcomeLost, negative when Sent
	// is not known.
	RTT     time.Duration
	Outcome Outcome
}

// Sampler takes a run's samples. One Sampler serves every connection of a
// run, so Sample must be safe for concurrent use; it is called in the
// round-trip loop, so it should neither allocate nor block for long.
type Sampler interface {
	Sample(Sample)
}
