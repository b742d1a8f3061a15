package config

import (
	"cmp"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	env "github.com/caarlos0/env/v10"
)

// Load fills cfg, a pointer to a command's settings struct, from its
// envDefault tags, then environ, then args, and returns the positional
// arguments and where each value came from. --help writes the synopsis and
// a table of the flags to help and returns ErrHelp; --version returns
// ErrVersion, whatever else is wrong, since the version is all the user
// wants then. A deprecated variable that was used gets one warning line on
// warn.
//
// Every bad value, from the environment or a flag, is reported at once as
// joined UsageErrors, one line each: fixing one at a time and running again
// to find the next is tedious.
func Load(cmd, synopsis string, cfg any, args, environ []string, help, warn io.Writer) (Loaded, error) {
	list := settings(cmd, cfg)
	problems, err := loadEnv(cfg, list, envMap(environ))
	if err != nil {
		return Loaded{}, err
	}
	var version bool
	fs := flagSet(cmd, list, &problems, &version)
	pos, err := parseInterleaved(fs, args)
	if version {
		return Loaded{}, ErrVersion
	}
	warnDeprecated(warn, list)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		problems = append(problems, Usagef("%v (see '%s')", err, helpCommand(cmd, synopsis)))
	}
	if len(problems) > 0 {
		// Even with --help: the help shows the values in effect, and a
		// bad one has none.
		return Loaded{}, errors.Join(problems...)
	}
	if err != nil {
		writeUsage(help, synopsis, list)
		return Loaded{}, ErrHelp
	}
	return Loaded{Args: pos, list: list}, nil
}

// setting is one field of a settings struct, with the names the user
// knows it by.
type setting struct {
	field  string        // Go field name, after its parent's and a dot if nested: Log.Level
	goName string        // field name alone, which env's errors report
	tag    string        // the env tag, the key env/v10 is handed: IDLE_TIMEOUT
	key    string        // the variable: LOOPBACK_SERVE_IDLE_TIMEOUT
	old    string        // the deprecated variable, if any: LOOPBACK_IDLE_TIMEOUT
	flag   string        // idle-timeout
	short  string        // the one-letter flag, from the short tag: c
	preset string        // the value the short flag sets, if it takes none: debug for -v
	help   string        // from the help tag
	arg    string        // what the value looks like in the help, from the arg tag
	value  reflect.Value // addressable field
	source Source        // where the current value came from
	from   string        // the variable or flag it came from, for messages
}

// settings lists the fields of *cfg that have an env and a help tag,
// descending into nested structs (Log) that have no env tag themselves.
func settings(cmd string, cfg any) []*setting {
	own := Prefix + strings.ToUpper(cmd) + "_"
	var out []*setting
	var walk func(v reflect.Value, parent string)
	walk = func(v reflect.Value, parent string) {
		for i := range v.NumField() {
			sf, fv := v.Type().Field(i), v.Field(i)
			tag := sf.Tag.Get("env")
			if sf.Type.Kind() == reflect.Struct && tag == "" {
				walk(fv, parent+sf.Name+".")
				continue
			}
			if tag == "" || sf.Tag.Get("help") == "" {
				continue
			}
			s := &setting{
				field:  parent + sf.Name,
				goName: sf.Name,
				tag:    tag,
				key:    own + tag,
				old:    sf.Tag.Get("deprecated"),
				flag:   cmp.Or(sf.Tag.Get("flag"), strings.ReplaceAll(strings.ToLower(tag), "_", "-")),
				help:   sf.Tag.Get("help"),
				arg:    sf.Tag.Get("arg"),
				value:  fv,
			}
			s.short, s.preset, _ = strings.Cut(sf.Tag.Get("short"), "=")
			if sf.Tag.Get("shared") == "true" {
				s.key = Prefix + tag
			}
			out = append(out, s)
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	return out
}

// set parses text with the field's own parser and stores it.
func (s *setting) set(text string) error {
	if u, ok := s.value.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	v, err := parsers[s.value.Type()](text)
	if err != nil {
		return err
	}
	s.value.Set(reflect.ValueOf(v))
	return nil
}

// String shows the field's current value in the help text.
func (s *setting) String() string {
	if st, ok := s.value.Interface().(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprint(s.value.Interface())
}

// loadEnv applies the envDefault tags and the environment. Which variable
// a setting is read from is decided here (the command's own, else the
// deprecated one); env/v10 is handed the chosen values under the bare tag
// keys and does the defaults and the parsing. A variable set to "" counts
// as unset, so it keeps the default, as env/v10 does. Bad values come back
// as UsageErrors naming the variable; err is for anything else.
func loadEnv(cfg any, list []*setting, vars map[string]string) (problems []error, err error) {
	feed := make(map[string]string, len(list))
	for _, s := range list {
		switch {
		case vars[s.key] != "":
			s.source, s.from = Env, s.key
		case s.old != "" && vars[s.old] != "":
			s.source, s.from = DeprecatedEnv, s.old
		default:
			continue
		}
		feed[s.tag] = vars[s.from]
	}
	funcs := make(map[reflect.Type]env.ParserFunc, len(parsers))
	for t, p := range parsers {
		funcs[t] = env.ParserFunc(p)
	}
	err = env.ParseWithOptions(cfg, env.Options{Environment: feed, FuncMap: funcs})
	if err == nil {
		return nil, nil
	}
	agg, ok := errors.AsType[env.AggregateError](err)
	if !ok {
		return nil, fmt.Errorf("environment: %w", err)
	}
	for _, e := range agg.Errors {
		s := settingOf(e, list)
		if s == nil {
			return nil, fmt.Errorf("environment: %w", e)
		}
		problems = append(problems, Usagef("%s: %v", s.from, e.(env.ParseError).Err))
	}
	return problems, nil
}

// settingOf finds the setting a parse error from env/v10 is about; env
// names the Go field and its type, which the user never sees.
func settingOf(e error, list []*setting) *setting {
	pe, ok := e.(env.ParseError)
	if !ok {
		return nil
	}
	for _, s := range list {
		if s.goName == pe.Name && s.value.Type() == pe.Type && s.from != "" {
			return s
		}
	}
	return nil
}

// flagSet binds every setting to a flag, and to its short flag if it has
// one, and -V/--version to *version. A bad value is added to problems and
// parsing goes on, so that every bad flag is reported at once.
func flagSet(cmd string, list []*setting, problems *[]error, version *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// The flag package's own messages name Go types and print the whole
	// usage on every mistake; we print one line instead.
	fs.SetOutput(io.Discard)
	for _, s := range list {
		// set stores text as the value given by the flag called name,
		// which is what an error message or Loaded.Name will call it.
		set := func(name string) func(string) error {
			return func(text string) error {
				if err := s.set(text); err != nil {
					*problems = append(*problems, Usagef("%s: %v", name, err))
					return nil
				}
				s.source, s.from = Flag, name
				return nil
			}
		}
		bind(fs, s.flag, s, set("--"+s.flag))
		switch {
		case s.preset != "":
			fs.BoolFunc(s.short, presetHelp(s), func(text string) error {
				if on, _ := strconv.ParseBool(text); !on { // -v=false
					return nil
				}
				return set("-" + s.short)(s.preset)
			})
		case s.short != "":
			bind(fs, s.short, s, set("-"+s.short))
		}
	}
	v := builtins[0] // -V, --version; -h and --help are the flag package's own
	fs.BoolVar(version, v.Long, false, v.Help)
	fs.BoolVar(version, v.Short, false, v.Help)
	return fs
}

// bind defines the flag called name for s: a boolean one takes no value.
func bind(fs *flag.FlagSet, name string, s *setting, fn func(string) error) {
	if s.value.Kind() == reflect.Bool {
		fs.BoolFunc(name, s.help, fn)
	} else {
		fs.Func(name, s.help, fn)
	}
}

// helpCommand is the command line that shows the help a mistake should
// send the user to: the synopsis's usage line up to the first word that
// is not a command name, so "usage: loopback serve [flags]" gives
// "loopback serve --help", and the program's own, "usage: loopback
// [command] [flags]", gives "loopback --help", not the name of a command
// the user never typed.
func helpCommand(cmd, synopsis string) string {
	line, _, _ := strings.Cut(synopsis, "\n")
	rest, ok := strings.CutPrefix(line, "usage: ")
	if !ok {
		return "loopback " + cmd + " --help"
	}
	var words []string
	for w := range strings.FieldsSeq(rest) {
		if strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
			break
		}
		words = append(words, w)
	}
	return strings.Join(append(words, "--help"), " ")
}

// parseInterleaved lets flags come after positional arguments too
// (`loopback probe tcp://127.0.0.1:7 --count 3`), which the flag package
// alone does not allow. Everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		used := len(args) - fs.NArg()
		if used > 0 && args[used-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	return pos, nil
}

// warnDeprecated writes one line for each deprecated variable whose value
// is in effect; one that a flag or the new variable overrode changed
// nothing, so it earns no warning.
func warnDeprecated(w io.Writer, list []*setting) {
	for _, s := range list {
		if s.source == DeprecatedEnv {
			fmt.Fprintf(w, "loopback: %s is deprecated: use %s (read for one more release)\n", s.old, s.key)
		}
	}
}

// envMap turns KEY=VALUE pairs into a map; a later pair wins, as in the
// process environment.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
