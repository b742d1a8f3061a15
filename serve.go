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

	"github.com/loopback-dev/loopback/diag"
	"github.com/loopback-dev/loopback/server"
)

// runServe is `loopback serve`: bind, announce the address, echo until a
// signal or --duration, drain, and log a summary.
func runServe(ctx, force context.Context, args, environ []string, stdout, stderr io.Writer) error {
	c, err := loadServe(args, environ, stdout, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.Log)
	ip, err := server.Resolve(ctx, c.Addr.Host, c.AllowRemote)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", c.Addr, err)
	}
	if !ip.IsLoopback() {
		log.Warn().Stringer("addr", ip).Msg("serving on a non-loopback address: anyone who can reach it can use the echo")
	}
	l, err := server.Listen(ctx, netip.AddrPortFrom(ip, c.Addr.Port), c.Proto.has(protoTCP), c.Proto.has(protoUDP))
	if err != nil {
		return withBindHint(err, c.Addr.Port)
	}
	if err := announce(stdout, l, c.PortFile); err != nil {
		l.Close()
		return err
	}
	if c.PortFile != "" {
		// A port file that outlives its server points scripts at nothing.
		defer os.Remove(c.PortFile)
	}
	logStart(log, c, l)
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.Duration, errors.New("--duration elapsed"))
		defer cancel()
	}
	return serve(ctx, force, c, l, log)
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

// announce writes the port file and then prints one URL per listener, once
// everything is bound: a script that reads either can connect at once, and
// one that saw a ready line finds the port file already there.
func announce(stdout io.Writer, l server.Listeners, portFile string) error {
	var urls []string
	var port int
	if l.TCP != nil {
		a := l.TCP.Addr().(*net.TCPAddr)
		port = a.Port
		urls = append(urls, "tcp://"+a.AddrPort().String())
	}
	if l.UDP != nil {
		a := l.UDP.LocalAddr().(*net.UDPAddr)
		port = a.Port
		urls = append(urls, "udp://"+a.AddrPort().String())
	}
	if portFile != "" {
		if err := writeFileAtomic(portFile, []byte(strconv.Itoa(port)+"\n")); err != nil {
			return err
		}
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

func logStart(log zerolog.Logger, c serveConfig, l server.Listeners) {
	e := log.Info().Str("proto", string(c.Proto)).Bool("allow_remote", c.AllowRemote).
		Int("max_conns", c.MaxConns).Stringer("idle_timeout", c.IdleTimeout).
		Stringer("duration", c.Duration).Stringer("drain_timeout", c.DrainTimeout)
	if l.TCP != nil {
		e = e.Stringer("tcp", l.TCP.Addr())
	}
	if l.UDP != nil {
		e = e.Stringer("udp", l.UDP.LocalAddr())
	}
	if c.PortFile != "" {
		e = e.Str("port_file", c.PortFile)
	}
	e.Msg("listening")
}

// serve runs the servers until ctx ends and they have drained, then logs
// what they did.
func serve(ctx, force context.Context, c serveConfig, l server.Listeners, log zerolog.Logger) error {
	start := time.Now()
	tcp := &server.TCP{MaxConns: c.MaxConns, IdleTimeout: c.IdleTimeout, DrainTimeout: c.DrainTimeout, Loops: c.Loops, Log: log}
	udp := &server.UDP{Log: log}
	defer context.AfterFunc(force, tcp.CloseAll)()
	// If one server fails, stop the other too rather than run half a server.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
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
		log.Info().Str("cause", context.Cause(ctx).Error()).Stringer("drain_timeout", c.DrainTimeout).Msg("stopping")
		close(logged)
	}()
	wg.Wait()
	<-logged
	t, u := tcp.Stats(), udp.Stats()
	log.Info().Stringer("uptime", time.Since(start).Round(time.Millisecond)).
		Uint64("tcp_conns", t.Accepted).Uint64("tcp_rejected", t.Rejected).
		Uint64("tcp_bytes_in", t.BytesIn).Uint64("tcp_bytes_out", t.BytesOut).
		Uint64("udp_datagrams", u.Datagrams).Uint64("udp_bytes", u.Bytes).Uint64("udp_dropped", u.Dropped).
		Msg("stopped")
	return errors.Join(errs...)
}

func failWith(fail context.CancelCauseFunc, err error) error {
	if err != nil {
		fail(err)
	}
	return err
}
