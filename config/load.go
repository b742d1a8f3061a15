package config

import (
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"

	env "github.com/caarlos0/env/v10"
)

// ErrHelp is returned when the user asked for -h or --help; the usage has
// been written and the program should exit 0.
var ErrHelp = flag.ErrHelp

// UsageError is a bad flag, variable or argument: the program exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// setting is one field of a config struct, with the names the user knows it by.
type setting struct {
	goName string        // field name, which env's errors report
	key    string        // LOOPBACK_IDLE_TIMEOUT
	flag   string        // idle-timeout
	help   string        // from the help tag
	arg    string        // what the value looks like in the help, from the arg tag
	value  reflect.Value // addressable field
	source string        // where the current value came from, for error messages
}

// settings lists the fields of *cfg that have a help tag, descending into
// nested structs (Log). The flag is named after the variable unless a flag
// tag says otherwise.
func settings(cfg any) []*setting {
	var out []*setting
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			sf, fv := v.Type().Field(i), v.Field(i)
			if sf.Type.Kind() == reflect.Struct && sf.Tag.Get("env") == "" {
				walk(fv)
				continue
			}
			key := sf.Tag.Get("env")
			if key == "" || sf.Tag.Get("help") == "" {
				continue
			}
			name := sf.Tag.Get("flag")
			if name == "" {
				name = strings.ReplaceAll(strings.ToLower(key), "_", "-")
			}
			out = append(out, &setting{
				goName: sf.Name,
				key:    Prefix + key,
				flag:   name,
				help:   sf.Tag.Get("help"),
				arg:    sf.Tag.Get("arg"),
				value:  fv,
			})
		}
	}
	walk(reflect.ValueOf(cfg).Elem())
	return out
}

// set parses s with the field's own parser and stores it.
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

// load fills cfg from envDefault tags, then environ, then args, and returns
// the positional arguments. Help goes to out.
func load(cmd, synopsis string, cfg any, args, environ []string, out io.Writer) ([]string, []*setting, error) {
	list := settings(cfg)
	if err := loadEnv(cfg, list, environ); err != nil {
		return nil, nil, err
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// The flag package's own messages name Go types and print the whole
	// usage on every mistake; we print one line instead.
	fs.SetOutput(io.Discard)
	var bad error
	for _, s := range list {
		fn := func(text string) error {
			if err := s.set(text); err != nil {
				bad = usagef("--%s: %v", s.flag, err)
				return err
			}
			s.source = "--" + s.flag
			return nil
		}
		if s.value.Kind() == reflect.Bool {
			fs.BoolFunc(s.flag, s.help, fn)
		} else {
			fs.Func(s.flag, s.help, fn)
		}
	}
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		writeUsage(out, cmd, synopsis, list)
		return nil, nil, ErrHelp
	case bad != nil:
		return nil, nil, bad
	case err != nil:
		return nil, nil, usagef("%v (see 'loopback %s --help')", err, cmd)
	}
	return pos, list, nil
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

// loadEnv applies envDefault tags and the environment, and turns env's
// errors, which name Go fields, into lines that name the variable.
func loadEnv(cfg any, list []*setting, environ []string) error {
	vars := envMap(environ)
	funcs := map[reflect.Type]env.ParserFunc{}
	for t, p := range parsers {
		funcs[t] = env.ParserFunc(p)
	}
	err := env.ParseWithOptions(cfg, env.Options{Prefix: Prefix, Environment: vars, FuncMap: funcs})
	if err == nil {
		for _, s := range list {
			if _, ok := vars[s.key]; ok {
				s.source = s.key
			}
		}
		return nil
	}
	agg, ok := errors.AsType[env.AggregateError](err)
	if !ok {
		return fmt.Errorf("environment: %w", err)
	}
	var lines []string
	for _, e := range agg.Errors {
		lines = append(lines, envErrorLine(e, list))
	}
	return &UsageError{Msg: strings.Join(lines, "\n")}
}

func envErrorLine(e error, list []*setting) string {
	pe, ok := e.(env.ParseError)
	if !ok {
		return e.Error()
	}
	for _, s := range list {
		if s.goName == pe.Name {
			return fmt.Sprintf("%s: %v", s.key, pe.Err)
		}
	}
	return pe.Error()
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
