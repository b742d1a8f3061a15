package config

import (
	"reflect"
	"strings"
)

// FlagDef is one flag of a command, as a shell completes it.
type FlagDef struct {
	Long   string   // the name after --; "" for a short flag that stands for a value (-v)
	Short  string   // the one-letter name after -, or ""
	Arg    string   // what its value looks like, as in the help; "" when it takes none
	Values []string // every value it accepts, when its type or its arg tag lists them
	Help   string
}

// Enum is a setting's type that accepts only a few words and can list
// them, so that a shell can offer them.
type Enum interface {
	Values() []string
}

// Flags lists the flags that Load parses for the settings struct cfg
// points to, in the order of the help, then -V/--version and -h/--help:
// what completion offers is then what the command accepts.
func Flags(cfg any) []FlagDef {
	var out []FlagDef
	for _, s := range settings("", cfg) {
		f := FlagDef{Long: s.flag, Help: s.help}
		if s.value.Kind() != reflect.Bool {
			f.Arg, f.Values = strings.TrimSpace(argName(s)), values(s)
		}
		if s.preset == "" {
			f.Short = s.short
		}
		out = append(out, f)
		if s.preset != "" {
			out = append(out, FlagDef{Short: s.short, Help: presetHelp(s)})
		}
	}
	return append(out, builtins...)
}

// values lists what a setting accepts: from its type if it is an Enum, or
// else from an arg tag that spells them out, such as tcp|udp|both.
func values(s *setting) []string {
	if e, ok := s.value.Addr().Interface().(Enum); ok {
		return e.Values()
	}
	if strings.Contains(s.arg, "|") {
		return strings.Split(s.arg, "|")
	}
	return nil
}
