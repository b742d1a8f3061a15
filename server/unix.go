package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrSocketInUse is returned by ListenUnix for a path another process
// serves.
var ErrSocketInUse = errors.New("another process is listening there")

// UnixListeners are the sockets of a server on Unix domain sockets; either
// may be nil.
type UnixListeners struct {
	Stream   *net.UnixListener
	Datagram *net.UnixConn
	paths    []string
}

// Close closes both sockets and removes their files.
func (l UnixListeners) Close() error {
	var errs []error
	if l.Stream != nil {
		errs = append(errs, l.Stream.Close())
	}
	if l.Datagram != nil {
		errs = append(errs, l.Datagram.Close())
	}
	l.Remove()
	return errors.Join(errs...)
}

// Remove removes the socket files, once the servers have stopped.
func (l UnixListeners) Remove() {
	for _, p := range l.paths {
		os.Remove(p)
	}
}

// ListenUnix binds a stream socket at stream and a datagram socket at
// datagram (either may be ""), each file with the given mode. A name that
// starts with @ is in Linux's abstract namespace and has no file. A file
// left by a server that is gone (a socket nobody listens on) is replaced;
// one that a live server holds, or that is no socket, is an error.
func ListenUnix(ctx context.Context, stream, datagram string, mode fs.FileMode) (UnixListeners, error) {
	var l UnixListeners
	var lc net.ListenConfig
	for _, s := range []struct {
		path, network string
	}{{stream, "unix"}, {datagram, "unixgram"}} {
		if s.path == "" {
			continue
		}
		if err := clearStale(s.network, s.path); err != nil {
			l.Close()
			return UnixListeners{}, err
		}
		if s.network == "unix" {
			ln, err := lc.Listen(ctx, "unix", s.path)
			if err != nil {
				l.Close()
				return UnixListeners{}, err
			}
			l.Stream = ln.(*net.UnixListener)
			// The engines may close their copy early; the file goes
			// when the server has stopped, not before.
			l.Stream.SetUnlinkOnClose(false)
		} else {
			pc, err := lc.ListenPacket(ctx, "unixgram", s.path)
			if err != nil {
				l.Close()
				return UnixListeners{}, err
			}
			l.Datagram = pc.(*net.UnixConn)
		}
		if abstract(s.path) {
			continue
		}
		l.paths = append(l.paths, s.path)
		if err := os.Chmod(s.path, mode); err != nil {
			l.Close()
			return UnixListeners{}, fmt.Errorf("socket file: %w", err)
		}
	}
	return l, nil
}

func abstract(path string) bool { return strings.HasPrefix(path, "@") }

// clearStale removes a socket file at path that no server answers on.
func clearStale(network, path string) error {
	if abstract(path) {
		return nil
	}
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket: not replacing it", path)
	}
	c, err := net.DialTimeout(network, path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrSocketInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: cannot tell whether a server is there: %w", path, err)
	}
	// Refused: the file outlived its server (killed with SIGKILL).
	return os.Remove(path)
}

// Listeners gives the sockets as a server's Listeners: the stream socket as
// its stream listener, the datagram one as UnixGram.
func (l UnixListeners) Listeners() Listeners {
	var out Listeners
	if l.Stream != nil {
		out.TCP = l.Stream
	}
	out.UnixGram = l.Datagram
	return out
}
