package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/loopback-dev/loopback/config"
	"github.com/loopback-dev/loopback/diag"
	"github.com/loopback-dev/loopback/internal/logfield"
	"github.com/loopback-dev/loopback/narrate"
	"github.com/loopback-dev/loopback/server"
)

// serveConfig is what `loopback serve` reads, each setting from its flag or
// LOOPBACK_SERVE_<KEY>. A new setting is a field here, its use below, and a
// field of the listening event, which a test checks against the help.
type serveConfig struct {
	Addr         config.HostPort `env:"ADDR" deprecated:"LOOPBACK_ADDR" envDefault:"127.0.0.1:0" arg:"host:port" help:"address to listen on, host:port (:8080 is 127.0.0.1:8080); port 0 lets the kernel pick one"`
	Port         config.Port     `env:"PORT" short:"p" arg:"port" help:"port to listen on, on the host of --addr: -p 8080 is --addr :8080 (not given: the port in --addr)"`
	Proto        proto           `env:"PROTO" deprecated:"LOOPBACK_PROTO" envDefault:"both" arg:"tcp|udp|both" help:"what to serve: tcp, udp or both (one port number for both)"`
	AllowRemote  bool            `env:"ALLOW_REMOTE" deprecated:"LOOPBACK_ALLOW_REMOTE" envDefault:"false" help:"allow an address outside 127.0.0.0/8 and ::1 (exposes the echo to the network)"`
	PortFile     string          `env:"PORT_FILE" deprecated:"LOOPBACK_PORT_FILE" arg:"path" help:"once listening, write the port number to this file (atomically)"`
	MaxConns     int             `env:"MAX_CONNS" deprecated:"LOOPBACK_MAX_CONNS" envDefault:"0" help:"close TCP connections beyond this many at once (0: no limit)"`
	IdleTimeout  time.Duration   `env:"IDLE_TIMEOUT" deprecated:"LOOPBACK_IDLE_TIMEOUT" envDefault:"5m" help:"close a TCP connection with no traffic for this long (0: never)"`
	WriteTimeout time.Duration   `env:"WRITE_TIMEOUT" envDefault:"5s" help:"close a TCP connection whose echo the client has not read for this long (0: only the idle timeout)"`
	Duration     time.Duration   `env:"DURATION" deprecated:"LOOPBACK_DURATION" envDefault:"0" short:"d" help:"stop by itself after this long (0: run until a signal)"`
	DrainTimeout time.Duration   `env:"DRAIN_TIMEOUT" deprecated:"LOOPBACK_DRAIN_TIMEOUT" envDefault:"5s" help:"on stop, give open connections this long to finish"`
	Loops        int             `env:"LOOPS" deprecated:"LOOPBACK_LOOPS" envDefault:"0" help:"event loops serving TCP connections, 1 to 256 (0: one per two CPUs)"`
	MinSrcPort   int             `env:"UDP_MIN_SOURCE_PORT" envDefault:"1024" arg:"port" help:"answer no UDP datagram from a source port below this, where echo, chargen, DNS and NTP live (1: every port)"`
	LoopLimit    int             `env:"UDP_LOOP_LIMIT" envDefault:"32" help:"stop answering, for 10 s, a UDP source that sends back the last echo this many times in a row: a loop (0: never)"`
	Unix         string          `env:"UNIX" arg:"path" help:"serve a Unix stream socket at path (@name: Linux's abstract namespace) instead of TCP and UDP"`
	Unixgram     string          `env:"UNIXGRAM" arg:"path" help:"serve a Unix datagram socket at path instead of TCP and UDP; a client must bind a name of its own to be answered"`
	UnixMode     fileMode        `env:"UNIX_MODE" envDefault:"0600" arg:"mode" help:"permissions of the Unix socket files: who may connect"`
	Service      service         `env:"SERVICE" envDefault:"echo" arg:"name" help:"what to answer: echo (RFC 862), discard (863), chargen (864), daytime (867) or time (868), over TCP and UDP as each RFC says"`
	MessageSize  config.Bytes    `env:"MESSAGE_SIZE" envDefault:"0" arg:"bytes" help:"TCP: answer only once a whole message of this many bytes has arrived, as request/response servers do (shows Nagle's delay with probe --split --nodelay=false; 0: echo every read)"`
	Detach       bool            `env:"DETACH" envDefault:"false" help:"start the server in the background, print its ready lines and pid once it is bound, and exit; stop it with loopback stop"`
	Env          bool            `env:"ENV" envDefault:"false" help:"with --detach, print shell assignments for eval instead (LOOPBACK_TCP, LOOPBACK_UDP, LOOPBACK_PORT, LOOPBACK_PID, LOOPBACK_LOG: the server's log file)"`
	Trace        bool            `env:"TRACE" envDefault:"false" help:"narrate every socket step on stderr in plain sentences: bound, accepted, read, echoed, closed (for learning; replaces the log)"`
	Hexdump      bool            `env:"HEXDUMP" envDefault:"false" help:"with --trace (which it turns on), show each payload as hex and text, up to 256 bytes per step"`
	Faults       faultConfig
	Log          config.Log
}

// maxMessage bounds --message-size: each connection holds one message.
const maxMessage = 1 << 20

// hexdumpBytes caps the payload shown per step: enough for a line typed
// into nc, short enough that a stream does not flood the terminal.
const hexdumpBytes = 256

// tracing is the server's form of --trace and --hexdump.
func (c serveConfig) tracing() server.Tracing {
	t := server.Tracing{Trace: c.Trace || c.Hexdump}
	if c.Hexdump {
		t.Payload = hexdumpBytes
	}
	return t
}

// serveLogger is the log of --log-level and --log-format, or, with
// --trace, every event down to each socket step told in sentences.
func serveLogger(stderr io.Writer, c serveConfig) zerolog.Logger {
	if !c.tracing().Trace {
		return newLogger(stderr, c.Log)
	}
	return zerolog.New(narrate.NewWriter(stderr)).Level(zerolog.TraceLevel).Hook(timestamp{})
}

// fileMode is a file's permission bits, written in octal.
type fileMode os.FileMode

// UnmarshalText accepts an octal mode from 0 to 0777.
func (m *fileMode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("%q is not a file mode: give octal permissions, e.g. 0600 or 0660", b)
	}
	*m = fileMode(v)
	return nil
}

// String gives the mode in octal.
func (m fileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// service is one of the classic services serve can be.
type service server.Service

// UnmarshalText accepts echo, discard, chargen, daytime or time.
func (s *service) UnmarshalText(b []byte) error {
	v, err := config.OneOf(b, "a service", server.ServiceEcho, server.ServiceDiscard,
		server.ServiceChargen, server.ServiceDaytime, server.ServiceTime)
	*s = service(v)
	return err
}

// unix reports whether serve is on Unix sockets rather than TCP and UDP.
func (c serveConfig) unix() bool { return c.Unix != "" || c.Unixgram != "" }

const serveSynopsis = `usage: loopback serve [flags]

TCP and UDP echo (RFC 862) on one port number of 127.0.0.1 until a signal or --duration.
Prints one line per listener on stdout (tcp://127.0.0.1:PORT, udp://127.0.0.1:PORT) once bound.`

// maxLoops bounds --loops: each loop holds a 64 KiB buffer and a thread
// when busy, and more loops than CPUs only take turns.
const maxLoops = 256

// loadServe reads the settings of `loopback serve` and refuses the ones no
// server could use, every one at once.
func loadServe(args, environ []string, stdout, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	l, err := config.Load("serve", serveSynopsis, &c, args, environ, stdout, stderr)
	if err != nil {
		return c, err
	}
	var problems []error
	if len(l.Args) > 0 {
		problems = append(problems, config.Usagef("serve takes no arguments, got %q (did you mean %s?)", l.Args[0], addrFlagFor(l.Args[0])))
	}
	if err := c.applyPort(l); err != nil {
		problems = append(problems, err)
	}
	if c.MinSrcPort < 1 || c.MinSrcPort > 65535 {
		problems = append(problems, config.Usagef("%s: %d is not a port; give 1 to 65535 (1 answers every source port)", l.Name("MinSrcPort"), c.MinSrcPort))
	}
	if c.unix() && c.PortFile != "" {
		problems = append(problems, config.Usagef("%s: a Unix socket has no port; scripts read the ready line or the socket's path", l.Name("PortFile")))
	}
	if c.Unix != "" && c.Unix == c.Unixgram {
		problems = append(problems, config.Usagef("%s and %s name one path %s; a stream and a datagram socket need a file each", l.Name("Unix"), l.Name("Unixgram"), c.Unix))
	}
	if c.PortFile != "" {
		if err := config.WritableFile(c.PortFile); err != nil {
			problems = append(problems, config.Usagef("%s: %v", l.Name("PortFile"), err))
		}
	}
	if err := c.Faults.faults().Validate(); err != nil {
		problems = append(problems, config.Usagef("%v", err))
	}
	if c.Service != service(server.ServiceEcho) && (c.unix() || c.Faults.faults() != nil) {
		problems = append(problems, config.Usagef("%s %s: Unix sockets and faults are for the echo service", l.Name("Service"), c.Service))
	}
	if c.MessageSize > maxMessage {
		problems = append(problems, config.Usagef("%s: %d bytes; a message is at most %d", l.Name("MessageSize"), c.MessageSize, maxMessage))
	}
	if c.MessageSize > 0 && c.Faults.faults() != nil {
		problems = append(problems, config.Usagef("%s answers whole messages; faults are for the echo of every read", l.Name("MessageSize")))
	}
	if c.Env && !c.Detach {
		problems = append(problems, config.Usagef("%s goes with --detach", l.Name("Env")))
	}
	if c.Loops > maxLoops {
		problems = append(problems, config.Usagef("%s: %d event loops; give 1 to %d, or 0 for one per two CPUs", l.Name("Loops"), c.Loops, maxLoops))
	}
	return c, errors.Join(problems...)
}

// proto says which echo servers to run.
type proto string

// The protocols serve accepts.
const (
	protoTCP  proto = "tcp"
	protoUDP  proto = "udp"
	protoBoth proto = "both"
)

// UnmarshalText accepts tcp, udp or both.
func (p *proto) UnmarshalText(b []byte) (err error) {
	*p, err = config.OneOf(b, "a protocol", protoTCP, protoUDP, protoBoth)
	return err
}

// has reports whether p includes the given single protocol.
func (p proto) has(one proto) bool { return p == protoBoth || p == one }

// runServe is `loopback serve`: bind, announce the address, echo until a
// signal or --duration, drain, and log a summary.
func runServe(ctx, force context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadServe(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	if c.Detach {
		return detach(ctx, c, args, stdout, stderr)
	}
	log := serveLogger(stderr, c)
	l, cleanup, err := listen(ctx, c, log)
	if err != nil {
		return err
	}
	// A socket file that outlives its server points clients at nothing.
	defer cleanup()
	if err := writePortFile(c.PortFile, l); err != nil {
		l.Close()
		return err
	}
	if c.PortFile != "" {
		// A port file that outlives its server points scripts at nothing.
		defer os.Remove(c.PortFile)
	}
	tcp := &server.TCP{MaxConns: c.MaxConns, IdleTimeout: c.IdleTimeout, WriteTimeout: c.WriteTimeout,
		DrainTimeout: c.DrainTimeout, Loops: c.Loops, Log: log}
	udp := &server.UDP{MinSourcePort: c.MinSrcPort, LoopLimit: c.LoopLimit, Log: log}
	tcp.Faults = c.Faults.faults()
	tcp.MessageSize = int(c.MessageSize)
	udp.Faults = tcp.Faults
	tcp.Tracing, udp.Tracing = c.tracing(), c.tracing()
	if c.LoopLimit == 0 {
		udp.LoopLimit = -1 // the flag's 0 is "never"; the field's 0 is the default
	}
	if l.UDP != nil {
		unregister := registerUDP(udp, l, log)
		defer unregister()
	}
	// The event comes before the ready lines, so that whoever has read
	// them finds it written.
	logListening(log, c, tcp, udp, l)
	if err := announce(stdout, l); err != nil {
		l.Close()
		return err
	}
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.Duration, errors.New("--duration elapsed"))
		defer cancel()
	}
	if c.Service != service(server.ServiceEcho) {
		return serveClassic(ctx, server.Service(c.Service), c.WriteTimeout, l, log)
	}
	return serve(ctx, force, tcp, udp, l, log)
}

// registerUDP tells the other loopback servers on this machine which UDP
// port this one serves, so that neither answers the other. A registry
// that cannot be written costs only that: the loop check still ends a
// loop between two servers, a few dozen datagrams later.
func registerUDP(udp *server.UDP, l server.Listeners, log zerolog.Logger) (unregister func()) {
	udp.Instances = &server.Instances{Dir: server.DefaultInstancesDir()}
	unregister, err := udp.Instances.Register(uint16(port(l)))
	if err != nil {
		log.Warn().Err(err).Msg("other loopback servers will not know this one's UDP port")
		return func() {}
	}
	return unregister
}

// listen binds what the settings ask for: Unix sockets, or TCP and UDP on
// an address that must be loopback unless the user opted out.
func listen(ctx context.Context, c serveConfig, log zerolog.Logger) (server.Listeners, func(), error) {
	if c.unix() {
		ul, err := server.ListenUnix(ctx, c.Unix, c.Unixgram, os.FileMode(c.UnixMode))
		if err != nil {
			return server.Listeners{}, nil, err
		}
		return ul.Listeners(), ul.Remove, nil
	}
	ip, err := server.Resolve(ctx, c.Addr.Host, c.AllowRemote)
	if err != nil {
		return server.Listeners{}, nil, fmt.Errorf("--addr %s: %w", c.Addr, err)
	}
	if !ip.IsLoopback() {
		log.Warn().Str("ip", ip.String()).Msg("serving on a non-loopback address: anyone who can reach it can use the echo")
	}
	warnRouteLocalnet(ip, diag.System{}, log)
	l, err := server.Listen(ctx, netip.AddrPortFrom(ip, c.Addr.Port), c.Proto.has(protoTCP), c.Proto.has(protoUDP))
	if err != nil {
		return server.Listeners{}, nil, withBindHint(err, c.Addr.Port)
	}
	return l, func() {}, nil
}

// warnRouteLocalnet says so when 127.0.0.0/8 is not as private as it
// looks: with net.ipv4.conf.*.route_localnet=1 (kube-proxy sets it), the
// neighbouring network can reach a server bound to 127.x.
func warnRouteLocalnet(ip netip.Addr, sys diag.System, log zerolog.Logger) {
	if !ip.Unmap().Is4() || !ip.IsLoopback() {
		return // ::1 is not affected, and a wildcard is exposed anyway
	}
	ifaces, err := diag.RouteLocalnet(sys)
	switch {
	case err != nil:
		log.Debug().Err(err).Msg("could not read net.ipv4.conf.*.route_localnet")
	case len(ifaces) > 0:
		log.Warn().Strs("route_localnet", ifaces).Msg(diag.RouteLocalnetWarning(ifaces))
	}
}

// withBindHint adds who holds the port, or why a low port was refused, to a
// failed bind: "address already in use" alone sends the user to lsof.
func withBindHint(err error, port uint16) error {
	network := "tcp"
	if op, ok := errors.AsType[*net.OpError](err); ok {
		network = op.Net
	}
	if hint := diag.BindHint(err, network, port, diag.System{}); hint != "" {
		return fmt.Errorf("%w: %s", err, hint)
	}
	return err
}

// writePortFile writes the port number, before the ready lines are
// printed: a script that saw one finds the port file already there.
func writePortFile(path string, l server.Listeners) error {
	if path == "" {
		return nil
	}
	return writeFileAtomic(path, []byte(strconv.Itoa(port(l))+"\n"))
}

// port is the port number of the listeners, the same for both.
func port(l server.Listeners) int {
	if l.TCP != nil {
		return l.TCP.Addr().(*net.TCPAddr).Port
	}
	return l.UDP.LocalAddr().(*net.UDPAddr).Port
}

// addrOf is a listener's address, or nil for none.
func addrOf(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// announce prints one URL per listener once everything is bound, so that a
// script that reads them can connect at once.
func announce(stdout io.Writer, l server.Listeners) error {
	var urls []string
	switch a := addrOf(l.TCP).(type) {
	case *net.TCPAddr:
		urls = append(urls, "tcp://"+a.AddrPort().String())
	case *net.UnixAddr:
		urls = append(urls, "unix://"+a.Name)
	}
	if l.UDP != nil {
		urls = append(urls, "udp://"+l.UDP.LocalAddr().(*net.UDPAddr).AddrPort().String())
	}
	if l.UnixGram != nil {
		urls = append(urls, "unixgram://"+l.UnixGram.LocalAddr().String())
	}
	if _, err := io.WriteString(stdout, strings.Join(urls, "\n")+"\n"); err != nil {
		return fmt.Errorf("print address: %w", err)
	}
	return nil
}

// writeFileAtomic writes a temporary file beside path and renames it over
// path, so a reader never sees a half-written port.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("port file: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("port file: %w", err)
	}
	return nil
}

// logListening writes every setting of the server as the server itself
// will use it: the TCP fields from the server, and its engine and loop
// count as Serve will run them, after defaults. A setting that stops
// reaching the server then shows here, and fails a test.
func logListening(log zerolog.Logger, c serveConfig, tcp *server.TCP, udp *server.UDP, l server.Listeners) {
	e := logfield.HostPort(log.Info(), "addr", c.Addr.Host, c.Addr.Port).Uint16("port", c.Addr.Port).
		Bool("quiet", c.Log.Quiet).Str("proto", string(c.Proto)).Bool("allow_remote", c.AllowRemote).
		Str("port_file", c.PortFile).Int("max_conns", tcp.MaxConns)
	e = logfield.MillisOrNull(e, "idle_timeout", tcp.IdleTimeout)
	e = logfield.MillisOrNull(e, "write_timeout", tcp.WriteTimeout)
	e = logfield.MillisOrNull(e, "duration", c.Duration)
	e = logfield.Millis(e, "drain_timeout", tcp.DrainTimeout).
		Stringer("log_level", c.Log.Level).Str("log_format", string(c.Log.Format))
	e = logfield.Path(e, "unix", c.Unix)
	e = logfield.Path(e, "unixgram", c.Unixgram).Stringer("unix_mode", c.UnixMode).
		Bool("trace", tcp.Trace).Bool("hexdump", tcp.Payload > 0).Str("service", string(c.Service)).
		Int("message_size", tcp.MessageSize).Bool("detach", c.Detach).Bool("env", c.Env)
	e = logfield.Addr(e, "tcp", addrOf(l.TCP))
	if l.TCP != nil {
		engine, loops := tcp.Effective()
		e = e.Str("engine", string(engine)).Int("loops", loops)
	}
	var udpAddr net.Addr
	if l.UDP != nil {
		udpAddr = l.UDP.LocalAddr()
		e = e.Int("udp_min_source_port", udp.MinSourcePort).Int("udp_loop_limit", max(udp.LoopLimit, 0))
	}
	e = logfield.Addr(e, "udp", udpAddr)
	logFaults(e, c.Faults).Msg("listening")
}

// serve runs the servers until ctx ends and they have drained, then logs
// what they did.
func serve(ctx, force context.Context, tcp *server.TCP, udp *server.UDP, l server.Listeners, log zerolog.Logger) error {
	start := time.Now()
	defer context.AfterFunc(force, tcp.CloseAll)()
	// If one server fails, stop the other too rather than run half a server.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	gram := &server.UnixGram{Log: log}
	if l.UnixGram != nil {
		wg.Go(func() { errs[2] = failWith(fail, gram.Serve(ctx, l.UnixGram)) })
	}
	if l.TCP != nil {
		wg.Go(func() { errs[0] = failWith(fail, tcp.Serve(ctx, l.TCP)) })
	}
	if l.UDP != nil {
		wg.Go(func() { errs[1] = failWith(fail, udp.Serve(ctx, l.UDP)) })
	}
	// Every way out of Serve cancels ctx (a stop, or one server failing),
	// so this event is always written, and before the summary.
	logged := make(chan struct{})
	go func() {
		<-ctx.Done()
		logfield.Millis(log.Info().Str("cause", context.Cause(ctx).Error()), "drain_timeout", tcp.DrainTimeout).Msg("stopping")
		close(logged)
	}()
	wg.Wait()
	<-logged
	t, u := tcp.Stats(), udp.Stats()
	e := logfield.Millis(log.Info(), "uptime", time.Since(start)).
		Uint64("tcp_conns", t.Accepted).Uint64("tcp_rejected", t.Rejected).
		Uint64("tcp_bytes_in", t.BytesIn).Uint64("tcp_bytes_out", t.BytesOut).
		Uint64("udp_datagrams", u.Datagrams).Uint64("udp_bytes", u.Bytes).Uint64("udp_dropped", u.Dropped).
		Uint64("udp_refused_self", u.RefusedSelf).Uint64("udp_refused_low_port", u.RefusedLowPort).
		Uint64("udp_refused_instance", u.RefusedInstance).Uint64("udp_refused_loop", u.RefusedLoop)
	g := gram.Stats()
	e = e.Uint64("unixgram_datagrams", g.Datagrams).Uint64("unixgram_dropped", g.Dropped)
	logFaultCounts(e, t, u).Msg("stopped")
	return errors.Join(errs...)
}

func failWith(fail context.CancelCauseFunc, err error) error {
	if err != nil {
		fail(err)
	}
	return err
}

// serveClassic runs discard, chargen, daytime or time until ctx ends, then
// logs what it did.
func serveClassic(ctx context.Context, name server.Service, writeTimeout time.Duration, l server.Listeners, log zerolog.Logger) error {
	start := time.Now()
	cl := &server.Classic{Service: name, WriteTimeout: writeTimeout, Log: log}
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	if l.TCP != nil {
		wg.Go(func() { errs[0] = failWith(fail, cl.ServeTCP(ctx, l.TCP)) })
	}
	if l.UDP != nil {
		wg.Go(func() { errs[1] = failWith(fail, cl.ServeUDP(ctx, l.UDP)) })
	}
	<-ctx.Done()
	log.Info().Str("cause", context.Cause(ctx).Error()).Msg("stopping")
	wg.Wait()
	st := cl.Stats()
	logfield.Millis(log.Info(), "uptime", time.Since(start)).Str("service", string(name)).
		Uint64("tcp_conns", st.Connections).Uint64("udp_answered", st.Answered).Uint64("udp_refused", st.Refused).
		Msg("stopped")
	return errors.Join(errs...)
}
