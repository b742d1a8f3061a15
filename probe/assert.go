package probe

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/loopback-dev/loopback/internal/human"
)

// Assertion is one condition on a run's metrics, such as p99 < 200µs.
//
// Metric is one of these names, in lower case:
//
//   - latencies, in nanoseconds: min, mean, stddev, p50, p90, p99, p999
//     (also written p99.9), max, jitter, connect. Written with a unit: ns,
//     us, µs, ms or s (p99<200us).
//   - counts of round trips: sent, received, lost, corrupt, late, dup,
//     reordered. Written as whole numbers (lost=0).
//   - loss, the percentage of round trips lost, 0 to 100. Written with or
//     without a % sign (loss<0.1%, loss=0).
//   - rps, round trips per second. Written as a plain number (rps>=1000).
//
// Op is one of <, <=, >, >=, = and !=; == is read as =. Value is in the
// metric's unit above, and Text is the assertion as the user wrote it.
type Assertion struct {
	Metric string
	Op     string
	Value  float64
	Text   string
}

// metricKind says how a metric's value is written and shown.
type metricKind int

const (
	kindLatency metricKind = iota
	kindCount
	kindPercent
	kindRate
)

// kindWant describes the values a metric of each kind accepts, for errors.
var kindWant = [...]string{
	kindLatency: "a duration with a unit: ns, us, µs, ms or s (e.g. p99<200us)",
	kindCount:   "a whole number (e.g. lost=0)",
	kindPercent: "a percentage from 0 to 100, the % optional (e.g. loss<0.1%)",
	kindRate:    "a number (e.g. rps>=1000)",
}

// metricsByKind lists the metrics of each kind, in the order errors name
// them.
var metricsByKind = [...][]string{
	kindLatency: {"min", "mean", "stddev", "p50", "p90", "p99", "p999", "max", "jitter", "connect"},
	kindCount:   {"sent", "received", "lost", "corrupt", "late", "dup", "reordered"},
	kindPercent: {"loss"},
	kindRate:    {"rps"},
}

func kindOf(metric string) (metricKind, bool) {
	for k, names := range metricsByKind {
		if slices.Contains(names, metric) {
			return metricKind(k), true
		}
	}
	return 0, false
}

// assertOps are the operators an Assertion may have.
var assertOps = []string{"<", "<=", ">", ">=", "=", "!="}

// opsHelp lists the operators, for errors.
const opsHelp = "use <, <=, >, >=, = (or ==) or !="

// latencyUnits maps the accepted duration units to nanoseconds; µ is
// accepted both as the micro sign (U+00B5) and as the Greek letter mu.
var latencyUnits = map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9}

// ParseAssertions parses a comma-separated list of assertions, such as
// "p99<200us, loss=0". Metric names and units are case-insensitive, and
// spaces around each part are ignored. An empty or blank s gives no
// assertions.
func ParseAssertions(s string) ([]Assertion, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var as []Assertion
	for item := range strings.SplitSeq(s, ",") {
		a, err := parseAssertion(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, nil
}

func parseAssertion(text string) (Assertion, error) {
	a := Assertion{Text: text}
	if text == "" {
		return a, errors.New(`empty assertion between commas; write them as "p99<200us,loss=0"`)
	}
	i := strings.IndexAny(text, "<>=!")
	if i < 0 {
		return a, fmt.Errorf("assertion %q has no operator: %s", text, opsHelp)
	}
	a.Metric = strings.ToLower(strings.TrimSpace(text[:i]))
	if a.Metric == "p99.9" {
		a.Metric = "p999"
	}
	kind, ok := kindOf(a.Metric)
	if !ok {
		return a, fmt.Errorf("assertion %q: unknown metric %q; known: %s", text, a.Metric, strings.Join(slices.Concat(metricsByKind[:]...), ", "))
	}
	rest := text[i:]
	value := strings.TrimLeft(rest, "<>=!")
	a.Op = rest[:len(rest)-len(value)]
	if a.Op == "==" {
		a.Op = "="
	}
	if !slices.Contains(assertOps, a.Op) {
		return a, fmt.Errorf("assertion %q: unknown operator %q: %s", text, a.Op, opsHelp)
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return a, fmt.Errorf("assertion %q: missing value after %s: %s wants %s", text, a.Op, a.Metric, kindWant[kind])
	}
	a.Value, ok = parseValue(kind, value)
	if !ok {
		return a, fmt.Errorf("assertion %q: %s wants %s, not %q", text, a.Metric, kindWant[kind], value)
	}
	return a, nil
}

// parseValue reads s as a value of the given kind, in the unit Assertion
// documents. The number must be plain decimal: no sign, exponent, Inf or
// NaN.
func parseValue(kind metricKind, s string) (float64, bool) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsLetter(r) || r == '%' })
	unit := strings.ToLower(s[len(num):])
	num = strings.TrimSpace(num)
	if strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 || strings.Trim(num, ".") == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	switch kind {
	case kindLatency:
		scale, ok := latencyUnits[unit]
		return math.Round(v * scale), ok
	case kindCount:
		return v, unit == "" && !strings.Contains(num, ".")
	case kindPercent:
		return v, (unit == "" || unit == "%") && v <= 100
	}
	return v, unit == ""
}

// CheckAssertions returns nil when every assertion holds, else an error
// (of kind ErrAssertion) whose text is one line naming each failed one with the measured value,
// e.g. `assert p99<200us failed: p99 = 312.4 µs`, joined by "; ". m holds
// the run's metrics by the names and in the units Assertion documents. An
// assertion on a metric missing from m fails too, as not measured
// (connect over UDP, say), and so does an Op that ParseAssertions would
// not have returned.
func CheckAssertions(as []Assertion, m map[string]float64) error {
	return checkAssertions(as, m, nil)
}

// checkAssertions is CheckAssertions where the metrics named in above are
// lower bounds: the true value is at least m's, and may be any larger.
func checkAssertions(as []Assertion, m map[string]float64, above map[string]bool) error {
	var failed []string
	for _, a := range as {
		got, ok := m[a.Metric]
		if !ok {
			failed = append(failed, fmt.Sprintf("assert %s failed: %s was not measured", a.Text, a.Metric))
			continue
		}
		holds, err := a.holds(got)
		if above[a.Metric] && err == nil {
			holds = a.holdsAbove(got)
		}
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case !holds && above[a.Metric]:
			failed = append(failed, fmt.Sprintf("assert %s failed: %s > %s (above the histogram's range)", a.Text, a.Metric, formatMetric(a.Metric, got)))
		case !holds:
			failed = append(failed, fmt.Sprintf("assert %s failed: %s = %s", a.Text, a.Metric, formatMetric(a.Metric, got)))
		}
	}
	if failed == nil {
		return nil
	}
	return withKind(ErrAssertion, errors.New(strings.Join(failed, "; ")))
}

// holdsAbove reports whether a holds for every value of at least low: only
// a lower limit can, and only one that low reaches.
func (a Assertion) holdsAbove(low float64) bool {
	switch a.Op {
	case ">", "!=":
		return low > a.Value
	case ">=":
		return low >= a.Value
	}
	return false
}

func (a Assertion) holds(got float64) (bool, error) {
	switch a.Op {
	case "<":
		return got < a.Value, nil
	case "<=":
		return got <= a.Value, nil
	case ">":
		return got > a.Value, nil
	case ">=":
		return got >= a.Value, nil
	case "=", "==":
		return got == a.Value, nil
	case "!=":
		return got != a.Value, nil
	}
	return false, fmt.Errorf("assert %s: unknown operator %q: %s", a.Text, a.Op, opsHelp)
}

// formatMetric shows a measured value in the unit of its metric.
func formatMetric(metric string, v float64) string {
	kind, ok := kindOf(metric)
	switch {
	case !ok:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case kind == kindLatency:
		return human.Duration(time.Duration(math.Round(v)))
	case kind == kindCount:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case kind == kindPercent:
		return strconv.FormatFloat(v, 'g', 3, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
