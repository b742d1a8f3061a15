package probe

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAssertions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []Assertion
	}{
		{"", nil},
		{"   ", nil},
		{"p99<200us", []Assertion{{"p99", "<", 200e3, "p99<200us"}}},
		{"p99<200us,loss=0", []Assertion{{"p99", "<", 200e3, "p99<200us"}, {"loss", "=", 0, "loss=0"}}},
		{" P99 <= 1.5 ms , Loss < 0.1% ", []Assertion{{"p99", "<=", 1.5e6, "P99 <= 1.5 ms"}, {"loss", "<", 0.1, "Loss < 0.1%"}}},
		{"p99.9<2MS", []Assertion{{"p999", "<", 2e6, "p99.9<2MS"}}},
		{"p999>=850ns", []Assertion{{"p999", ">=", 850, "p999>=850ns"}}},
		{"max<1s", []Assertion{{"max", "<", 1e9, "max<1s"}}},
		{"mean<20µs", []Assertion{{"mean", "<", 20e3, "mean<20µs"}}},
		{"mean<20μs", []Assertion{{"mean", "<", 20e3, "mean<20μs"}}}, // Greek mu
		{"jitter<.5us", []Assertion{{"jitter", "<", 500, "jitter<.5us"}}},
		{"connect<1ms", []Assertion{{"connect", "<", 1e6, "connect<1ms"}}},
		{"lost==0", []Assertion{{"lost", "=", 0, "lost==0"}}},
		{"received!=0", []Assertion{{"received", "!=", 0, "received!=0"}}},
		{"sent>=1000,corrupt=0,late<3,dup=0,reordered=0", []Assertion{
			{"sent", ">=", 1000, "sent>=1000"}, {"corrupt", "=", 0, "corrupt=0"}, {"late", "<", 3, "late<3"},
			{"dup", "=", 0, "dup=0"}, {"reordered", "=", 0, "reordered=0"}}},
		{"loss<=100%", []Assertion{{"loss", "<=", 100, "loss<=100%"}}},
		{"rps>1000.5", []Assertion{{"rps", ">", 1000.5, "rps>1000.5"}}},
		{"min>0ns,stddev<3us,p50<1us,p90<2us", []Assertion{
			{"min", ">", 0, "min>0ns"}, {"stddev", "<", 3e3, "stddev<3us"},
			{"p50", "<", 1e3, "p50<1us"}, {"p90", "<", 2e3, "p90<2us"}}},
	}
	for _, tt := range tests {
		got, err := ParseAssertions(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAssertions(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAssertionsErrors(t *testing.T) {
	t.Parallel()
	const ops = "use <, <=, >, >=, = (or ==) or !="
	const dur = "a duration with a unit: ns, us, µs, ms or s (e.g. p99<200us)"
	tests := []struct{ in, want string }{
		{"p99<", `assertion "p99<": missing value after <: p99 wants ` + dur},
		{"p99<200", `assertion "p99<200": p99 wants ` + dur + `, not "200"`},
		{"p99<200m", `assertion "p99<200m": p99 wants ` + dur + `, not "200m"`},
		{"p99<1h", `assertion "p99<1h": p99 wants ` + dur + `, not "1h"`},
		{"p99<1e3us", `assertion "p99<1e3us": p99 wants ` + dur + `, not "1e3us"`},
		{"p99<-1ms", `assertion "p99<-1ms": p99 wants ` + dur + `, not "-1ms"`},
		{"p99<1..2ms", `assertion "p99<1..2ms": p99 wants ` + dur + `, not "1..2ms"`},
		{"p99<.ms", `assertion "p99<.ms": p99 wants ` + dur + `, not ".ms"`},
		{"foo<1", `assertion "foo<1": unknown metric "foo"; known: min, mean, stddev, p50, p90, p99, p999, max, jitter, connect, sent, received, lost, corrupt, late, dup, reordered, loss, rps`},
		{"<1ms", `assertion "<1ms": unknown metric ""; known: min, mean, stddev, p50, p90, p99, p999, max, jitter, connect, sent, received, lost, corrupt, late, dup, reordered, loss, rps`},
		{"p99~3ms", `assertion "p99~3ms" has no operator: ` + ops},
		{"p99", `assertion "p99" has no operator: ` + ops},
		{"p99=<3ms", `assertion "p99=<3ms": unknown operator "=<": ` + ops},
		{"p99<>3ms", `assertion "p99<>3ms": unknown operator "<>": ` + ops},
		{"p99!3ms", `assertion "p99!3ms": unknown operator "!": ` + ops},
		{"loss<-1", `assertion "loss<-1": loss wants a percentage from 0 to 100, the % optional (e.g. loss<0.1%), not "-1"`},
		{"loss<101%", `assertion "loss<101%": loss wants a percentage from 0 to 100, the % optional (e.g. loss<0.1%), not "101%"`},
		{"loss<1ms", `assertion "loss<1ms": loss wants a percentage from 0 to 100, the % optional (e.g. loss<0.1%), not "1ms"`},
		{"lost<1.5", `assertion "lost<1.5": lost wants a whole number (e.g. lost=0), not "1.5"`},
		{"lost<1%", `assertion "lost<1%": lost wants a whole number (e.g. lost=0), not "1%"`},
		{"rps>1k", `assertion "rps>1k": rps wants a number (e.g. rps>=1000), not "1k"`},
		{"rps>NaN", `assertion "rps>NaN": rps wants a number (e.g. rps>=1000), not "NaN"`},
		{"rps>Inf", `assertion "rps>Inf": rps wants a number (e.g. rps>=1000), not "Inf"`},
		{"p99<1ms,,loss=0", `empty assertion between commas; write them as "p99<200us,loss=0"`},
		{"p99<1ms,", `empty assertion between commas; write them as "p99<200us,loss=0"`},
	}
	for _, tt := range tests {
		got, err := ParseAssertions(tt.in)
		if err == nil || err.Error() != tt.want || got != nil {
			t.Errorf("ParseAssertions(%q) = %+v, %v\nwant error %s", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckAssertions(t *testing.T) {
	t.Parallel()
	m := map[string]float64{
		"p50": 25_300, "p99": 312_400, "p999": 1_250_000, "max": 2_000_000_000, "jitter": 850,
		"sent": 1000, "lost": 3, "corrupt": 0, "loss": 0.3, "rps": 31_250.44,
	}
	tests := []struct{ in, want string }{
		{"", ""},
		{"p50<30us, p99<=312.4us, p999>1ms, max=2s, jitter!=0ns", ""},
		{"sent=1000, sent>=1000, lost<4, corrupt==0, loss<0.5%, rps>30000", ""},
		{"p99<200us", "assert p99<200us failed: p99 = 312.4 µs"},
		{"p99<200us,loss=0", "assert p99<200us failed: p99 = 312.4 µs; assert loss=0 failed: loss = 0.3%"},
		{"P99.9 < 1ms", "assert P99.9 < 1ms failed: p999 = 1.25 ms"},
		{"max<1s", "assert max<1s failed: max = 2.00 s"},
		{"jitter>1us", "assert jitter>1us failed: jitter = 850 ns"},
		{"lost=0,corrupt!=0", "assert lost=0 failed: lost = 3; assert corrupt!=0 failed: corrupt = 0"},
		{"rps>=50000", "assert rps>=50000 failed: rps = 31250.4"},
		{"connect<1ms,lost<10", "assert connect<1ms failed: connect was not measured"},
	}
	for _, tt := range tests {
		as, err := ParseAssertions(tt.in)
		if err != nil {
			t.Fatalf("ParseAssertions(%q): %v", tt.in, err)
		}
		err = CheckAssertions(as, m)
		if got := assertErrText(err); got != tt.want {
			t.Errorf("CheckAssertions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCheckAssertionsHandBuilt checks assertions that ParseAssertions
// would not return.
func TestCheckAssertionsHandBuilt(t *testing.T) {
	t.Parallel()
	as := []Assertion{
		{Metric: "lost", Op: "~", Value: 0, Text: "lost~0"},
		{Metric: "lost", Op: "==", Value: 3, Text: "lost==3"},
		{Metric: "foo", Op: "<", Value: 1, Text: "foo<1"},
	}
	want := `assert lost~0: unknown operator "~": use <, <=, >, >=, = (or ==) or !=; assert foo<1 failed: foo = 2.5`
	if got := assertErrText(CheckAssertions(as, map[string]float64{"lost": 3, "foo": 2.5})); got != want {
		t.Errorf("CheckAssertions = %q, want %q", got, want)
	}
}

func FuzzParseAssertions(f *testing.F) {
	for _, s := range []string{"p99<200us,loss=0", "P99.9 >= 1.5 ms", "lost==0", "rps>1e3", "loss<0.1%", "p99~3ms", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		as, err := ParseAssertions(s)
		if err != nil {
			return
		}
		// Every assertion's Text parses again to the same assertion.
		texts := make([]string, len(as))
		for i, a := range as {
			texts[i] = a.Text
		}
		again, err := ParseAssertions(strings.Join(texts, ","))
		if err != nil || !reflect.DeepEqual(again, as) {
			t.Errorf("ParseAssertions(%q) = %+v, but its texts parse to %+v, %v", s, as, again, err)
		}
	})
}

func assertErrText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
