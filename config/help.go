package config

import (
	"cmp"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
	"time"
)

// writeUsage prints the synopsis and one row per flag: its variable, its
// effective default (after the environment) and what it does. Only the
// current variables are listed: the help is where new users learn the
// names, and the deprecated ones are on their way out.
func writeUsage(w io.Writer, synopsis string, list []*setting) {
	fmt.Fprintf(w, "%s\n\nFlags (each also read from its environment variable; a flag wins):\n", synopsis)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range list {
		fmt.Fprintf(tw, "  --%s%s\t%s\t(default %s)\t%s\n", s.flag, argName(s), s.key, cmp.Or(s.String(), `""`), s.help)
	}
	fmt.Fprintf(tw, "  -h, --help\t\t\tshow this help\n")
	tw.Flush()
}

// argName is what a flag's value looks like in the help: the arg tag, or
// a word for the value's type; a boolean flag takes none.
func argName(s *setting) string {
	switch {
	case s.arg != "":
		return " " + s.arg
	case s.value.Kind() == reflect.Bool:
		return ""
	case s.value.Kind() == reflect.Int:
		return " n"
	case s.value.Type() == reflect.TypeFor[time.Duration]():
		return " duration"
	}
	return " value"
}
