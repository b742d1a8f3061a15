package config

import (
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fuzz tests follow net/netip's FuzzParse: whatever a user types into
// a flag or a variable must never panic a parser, and a value a parser
// accepts must come back unchanged from the text the program shows for it
// (the help's defaults, the listening event). Their seed corpus is in
// testdata/fuzz/<name>/ besides the f.Add calls; run one with, for example,
// go test -run '^$' -fuzz FuzzLoad -fuzztime 30s ./config/

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "30s", "250ms", "1m30s", "-1s", "1.5h", "0.000000001s", "9223372036854775807ns",
		"9223372036854775808ns", "2562047h47m16.854775807s", "1e3s", ".5s", "5", "+5s", "1µs", "1us", "", " 1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseDuration(s)
		if err != nil {
			return
		}
		d := v.(time.Duration)
		if d < 0 {
			t.Fatalf("parseDuration(%q) = %v, a negative duration", s, d)
		}
		if back, err := parseDuration(d.String()); err != nil || back != d {
			t.Fatalf("parseDuration(%q) = %v, whose text %q parses to %v, %v", s, d, d.String(), back, err)
		}
	})
}

// FuzzParseCount covers every int setting: counts, sizes in bytes, ports
// and limits are all whole numbers of 0 or more, checked for range by the
// command that owns them.
func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"0", "3", "64", "65507", "1048576", "-5", "007", "+1", "1e3", "0x10", "1_000",
		"9223372036854775807", "9223372036854775808", "", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseCount(s)
		if err != nil {
			return
		}
		n := v.(int)
		if n < 0 {
			t.Fatalf("parseCount(%q) = %d, a negative count", s, n)
		}
		if back, err := parseCount(strconv.Itoa(n)); err != nil || back != n {
			t.Fatalf("parseCount(%q) = %d, whose text parses to %v, %v", s, n, back, err)
		}
	})
}

// FuzzParseRate covers the float64 settings (rates per second).
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "1000", "2.5", "-1", "-0", "1e308", "1e309", "NaN", "Inf", "+Inf", "0x1p-2",
		"4.9e-324", "1_000", ".5", "5.", "", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseRate(s)
		if err != nil {
			return
		}
		r := v.(float64)
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			t.Fatalf("parseRate(%q) = %v, not a finite number of 0 or more", s, r)
		}
		// The help and the events print a rate with %v.
		text := strconv.FormatFloat(r, 'g', -1, 64)
		if back, err := parseRate(text); err != nil || back != r {
			t.Fatalf("parseRate(%q) = %v, whose text %q parses to %v, %v", s, r, text, back, err)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"true", "false", "1", "0", "T", "F", "TRUE", "yes", "", "on"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseBool(s)
		if err != nil {
			return
		}
		b := v.(bool)
		if back, err := parseBool(strconv.FormatBool(b)); err != nil || back != b {
			t.Fatalf("parseBool(%q) = %v, whose text parses to %v, %v", s, b, back, err)
		}
	})
}

// FuzzHostPort is --addr before it reaches the server: any text either is
// refused or gives a host and port whose String reads back the same.
// server.Resolve's fuzz test takes it from there.
func FuzzHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:0", "[::1]:7007", "localhost:8080", ":80", "127.0.0.1", "[::1]",
		"::1:80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1", "[fe80::1%eth0]:22", "[::ffff:127.0.0.1]:7",
		"a:b:c", "[a:b]:1", "[127.0.0.1]:1", "host:http", "[]:1", "[:1", "]:1", "127.0.0.1:007", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var h HostPort
		if err := h.UnmarshalText([]byte(s)); err != nil {
			if h != (HostPort{}) {
				t.Fatalf("UnmarshalText(%q) failed but set %+v", s, h)
			}
			return
		}
		if h.Host == "" {
			t.Fatalf("UnmarshalText(%q) accepted an empty host", s)
		}
		var back HostPort
		if err := back.UnmarshalText([]byte(h.String())); err != nil || back != h {
			t.Fatalf("UnmarshalText(%q) = %+v, whose String %q parses to %+v, %v", s, h, h.String(), back, err)
		}
	})
}

// FuzzBytes covers the sizes (--message-size, --reset-after and the like):
// a whole number of bytes, 0 or more, that reads back from its String.
func FuzzBytes(f *testing.F) {
	for _, s := range []string{"0", "1000", "64KiB", "1MB", "1.5KiB", "0.5B", "-3", "1e3", "1 GiB", " 7 ", "1KiBB",
		"9223372036854775807", "4611686018427387904", "1e19", "8GiB", "Inf", "NaN", "0x10", "", "B", "kB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n Bytes
		if err := n.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("Bytes %q = %d, a negative size", s, n)
		}
		var back Bytes
		if err := back.UnmarshalText([]byte(n.String())); err != nil || back != n {
			t.Fatalf("Bytes %q = %d, whose text %q reads back as %d, %v", s, n, n.String(), back, err)
		}
	})
}

// FuzzBandwidth covers the rates with units (--bandwidth): 0 or a finite
// number of bytes per second above 0, that reads back from its String.
func FuzzBandwidth(f *testing.F) {
	for _, s := range []string{"0", "1MB/s", "64KiB/s", "10Mbit/s", "1Gbit/s", "1MB", "fast", "-1MB/s", "0Mbit/s",
		"1e308Gbit/s", "1e308GiB/s", "1bit/s", "0.001bit/s", "5e-324B/s", "/s", "B/s", " 1 kbit /s", "0/s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r Bandwidth
		if err := r.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if v := float64(r); v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("Bandwidth %q = %v bytes/s, not a finite rate of 0 or more", s, v)
		}
		var back Bandwidth
		if err := back.UnmarshalText([]byte(r.String())); err != nil || back != r {
			t.Fatalf("Bandwidth %q = %v, whose text %q reads back as %v, %v", s, float64(r), r.String(), float64(back), err)
		}
	})
}

// FuzzShare covers the probabilities (--loss, --faulty): 0 to 1, given
// as a fraction or a percentage, that read back from their String.
func FuzzShare(f *testing.F) {
	for _, s := range []string{"0", "1", "0.3", "30%", "100%", "1.1", "-0.1", "120%", "NaN", "-0", "%", "1e-300%",
		"0x1p-1", " 50 %", "Inf", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var sh Share
		if err := sh.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if !(sh >= 0 && sh <= 1) {
			t.Fatalf("Share %q = %v, not from 0 to 1", s, float64(sh))
		}
		var back Share
		if err := back.UnmarshalText([]byte(sh.String())); err != nil || back != sh {
			t.Fatalf("Share %q = %v, whose text %q reads back as %v, %v", s, float64(sh), sh.String(), float64(back), err)
		}
	})
}

// FuzzSeed covers --seed: a whole number that reads back from its String.
func FuzzSeed(f *testing.F) {
	for _, s := range []string{"0", "42", "18446744073709551615", "18446744073709551616", "-1", " 7", "0x10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var sd Seed
		if err := sd.UnmarshalText([]byte(s)); err != nil {
			return
		}
		var back Seed
		if err := back.UnmarshalText([]byte(sd.String())); err != nil || back != sd {
			t.Fatalf("Seed %q = %d, whose text reads back as %d, %v", s, sd, back, err)
		}
	})
}

// enums are the shapes of OneOf's allowed lists in the commands.
var enums = [][]string{
	{"auto", "console", "json"},                       // --log-format
	{"tcp", "udp", "both"},                            // serve --proto
	{"text", "json", "jsonl", "csv"},                  // probe --output
	{"rtt", "connect", "throughput"},                  // probe --mode
	{"echo", "discard", "chargen", "daytime", "time"}, // serve --service
	{"K", "k", "\u212a", "ǆ"},                         // case folding beyond ASCII: the Kelvin sign folds to k
	{"", "x"},                                         // an empty word is a value like any other
	{"same", "same", "SAME", "other"},                 // repeats
}

// FuzzOneOf checks the enum settings: what OneOf accepts is one of the
// allowed words, the first one equal to the input ignoring case, and reads
// back as itself; what it refuses is equal to none of them, and the error
// lists them all.
func FuzzOneOf(f *testing.F) {
	for i, e := range enums {
		for _, v := range e {
			f.Add([]byte(v), uint8(i))
			f.Add([]byte(strings.ToUpper(v)), uint8(i))
		}
	}
	f.Add([]byte("jsonl "), uint8(2))
	f.Add([]byte("\xff"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		allowed := enums[int(which)%len(enums)]
		v, err := OneOf(b, "a thing", allowed...)
		first := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(string(b), a) })
		if err != nil {
			if first >= 0 {
				t.Fatalf("OneOf(%q, %q) refused a value equal to %q: %v", b, allowed, allowed[first], err)
			}
			for _, a := range allowed {
				if !strings.Contains(err.Error(), a) {
					t.Fatalf("OneOf(%q, %q): the error %q does not list %q", b, allowed, err, a)
				}
			}
			return
		}
		if first < 0 || v != allowed[first] {
			t.Fatalf("OneOf(%q, %q) = %q, want the first allowed value equal to it", b, allowed, v)
		}
		if back, err := OneOf([]byte(v), "a thing", allowed...); err != nil || back != v {
			t.Fatalf("OneOf(%q) = %q, which reads back as %q, %v", b, v, back, err)
		}
	})
}

// FuzzLogSettings covers the two enums every command has, through their
// own UnmarshalText: --log-level and --log-format.
func FuzzLogSettings(f *testing.F) {
	for _, s := range []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled", "", "-1",
		"INFO", "Warn", "5", "auto", "console", "json", "JSON", "jsonl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var l Level
		if err := l.UnmarshalText([]byte(s)); err == nil {
			var back Level
			if err := back.UnmarshalText([]byte(l.String())); err != nil || back != l {
				t.Fatalf("Level %q = %v, which reads back as %v, %v", s, l, back, err)
			}
			if !slices.Contains([]string{"trace", "debug", "info", "warn", "error"}, l.String()) {
				t.Fatalf("Level %q = %v, which a command-line tool does not offer", s, l)
			}
		}
		var lf LogFormat
		if err := lf.UnmarshalText([]byte(s)); err == nil {
			var back LogFormat
			if err := back.UnmarshalText([]byte(lf)); err != nil || back != lf {
				t.Fatalf("LogFormat %q = %v, which reads back as %v, %v", s, lf, back, err)
			}
		}
	})
}

// fuzzed has a setting of every type Load knows, so FuzzLoad reaches each
// parser through both sources.
type fuzzed struct {
	Addr  HostPort      `env:"ADDR" envDefault:"127.0.0.1:0" help:"where"`
	Wait  time.Duration `env:"WAIT" deprecated:"LOOPBACK_WAIT" envDefault:"5m" help:"how long"`
	Count int           `env:"COUNT" envDefault:"3" help:"how many"`
	Rate  float64       `env:"RATE" envDefault:"0" help:"how fast"`
	Loud  bool          `env:"LOUD" flag:"loud" envDefault:"false" help:"say more"`
	Note  string        `env:"NOTE" help:"a note"`
	Size  Bytes         `env:"SIZE" envDefault:"0" help:"how big"`
	Pace  Bandwidth     `env:"PACE" envDefault:"0" help:"how fast, in bytes"`
	Loss  Share         `env:"LOSS" envDefault:"0" help:"how much"`
	Seed  Seed          `env:"SEED" envDefault:"0" help:"which"`
	Log   Log
}

// FuzzLoad feeds Load an arbitrary environment and command line, each a
// list separated by NUL bytes, which neither can hold. It must never
// panic; it must either fail with usage errors only, or give settings that
// the flags printed from them (as the help prints defaults) load back to
// unchanged.
func FuzzLoad(f *testing.F) {
	f.Add("LOOPBACK_FUZZ_WAIT=1s\x00LOOPBACK_FUZZ_COUNT=7", "--rate\x002.5\x00arg")
	f.Add("LOOPBACK_WAIT=90s\x00LOOPBACK_LOG_LEVEL=debug\x00LOOPBACK_LOG_FORMAT=json", "--loud\x00--note=x y")
	f.Add("LOOPBACK_FUZZ_ADDR=[::1]:7007\x00LOOPBACK_FUZZ_RATE=1e3\x00LOOPBACK_FUZZ_LOUD=true", "-count=0\x00--\x00--addr")
	f.Add("LOOPBACK_FUZZ_WAIT=abc\x00LOOPBACK_FUZZ_COUNT=-1\x00LOOPBACK_FUZZ_RATE=NaN", "--addr\x00nope\x00--wait")
	f.Add("LOOPBACK_FUZZ_NOTE=\x00=\x00LOOPBACK_FUZZ_LOUD", "--help")
	f.Add("PATH=/bin\x00LOOPBACK_FUZZ_ADDR=host:80", "a\x00--log-level=error\x00b\x00--log-format\x00console")
	f.Add("", "--nosuch\x00-\x00---x\x00--loud=maybe\x00--count")
	f.Add("LOOPBACK_FUZZ_SIZE=64KiB\x00LOOPBACK_FUZZ_PACE=10Mbit/s\x00LOOPBACK_FUZZ_LOSS=30%\x00LOOPBACK_FUZZ_SEED=42",
		"--size=1.5KiB\x00--pace\x001e308GiB/s\x00--loss=1.1\x00--seed=-1")
	f.Fuzz(func(t *testing.T, environ, args string) {
		var c fuzzed
		_, err := Load("fuzz", "usage: loopback fuzz", &c, split(environ), split(args), io.Discard, io.Discard)
		if err != nil {
			if !errors.Is(err, ErrHelp) {
				onlyUsageErrors(t, err)
			}
			return
		}
		var printed []string
		for _, s := range settings("fuzz", &c) {
			printed = append(printed, "--"+s.flag+"="+s.String())
		}
		var back fuzzed
		if _, err := Load("fuzz", "usage: loopback fuzz", &back, printed, nil, io.Discard, io.Discard); err != nil {
			t.Fatalf("settings %+v print as %q, which fail to load: %v", c, printed, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("settings %+v print as %q, which load as %+v", c, printed, back)
		}
	})
}

// split cuts a fuzzed list at NUL bytes; "" is the empty list.
func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// onlyUsageErrors fails t unless every error joined in err is a
// UsageError, the kind that exits 2 naming the flag or variable.
func onlyUsageErrors(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if _, ok := errors.AsType[*UsageError](e); !ok {
			t.Fatalf("Load failed with %T %q, not a usage error", e, e)
		}
	}
}
