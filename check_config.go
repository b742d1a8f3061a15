package main

import (
	"errors"
	"io"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/probe"
)

// checkConfig is what `loopback check` (and `loopback` alone) reads, each
// setting from its flag or LOOPBACK_CHECK_<KEY>.
type checkConfig struct {
	Count  int  `env:"COUNT" envDefault:"1000" help:"round trips per protocol"`
	Warmup int  `env:"WARMUP" envDefault:"100" help:"round trips per protocol before measuring"`
	All    bool `env:"ALL" envDefault:"false" help:"check IPv6 loopback (::1) too, side by side"`
	JSON   bool `env:"JSON" deprecated:"LOOPBACK_JSON" envDefault:"false" help:"print each probe result as a JSON object, one per line"`
	Log    config.Log
}

// checkSynopsis is the help of check, which is also the program's own.
const checkSynopsis = `usage: loopback [command] [flags]

Commands:
  check    check this machine's loopback stack (the default when no command is given)
  serve    TCP and UDP echo server on 127.0.0.1: loopback serve --help
  probe    measure round trips to an echo server: loopback probe --help
  explain  what an address and port mean here, and who is on it: loopback explain 127.0.0.1:62893
  who      which process holds a port: loopback who 7007
  ports    every socket listening on loopback
  version  print the version

With no command, loopback checks this machine's loopback stack: it starts an echo
server on 127.0.0.1:0 in this process, probes it over TCP and UDP, and prints a
verdict. Exit 0 when loopback works.`

// checkSize is the payload of the self-check's round trips: a typical
// small request.
const checkSize = 64

// loadCheck reads the settings of `loopback check`; the probe package
// judges the options the check will run it with.
func loadCheck(args, environ []string, stdout, stderr io.Writer) (checkConfig, error) {
	var c checkConfig
	l, err := config.Load("check", checkSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	var problems []error
	if len(l.Args) > 0 {
		problems = append(problems, config.Usagef("check takes no arguments, got %q", l.Args[0]))
	}
	if err := c.options().Validate("udp"); err != nil {
		problems = append(problems, config.Usagef("%v", err))
	}
	return c, errors.Join(problems...)
}

// options are the probe's options for each protocol of the check; UDP's
// limits are the narrower, so they are the ones validated.
func (c checkConfig) options() probe.Options {
	return probe.Options{Count: c.Count, Warmup: c.Warmup, Size: checkSize, Timeout: checkTimeout}
}
