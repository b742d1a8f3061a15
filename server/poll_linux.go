package server

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/loopback-dev/loopback/internal/yield"
)

// The Linux engines wait in epoll_wait themselves rather than in Go's
// poller: a goroutine woken through the poller waits for a second thread to
// hand it the event, a cost on the order of the echo itself (bench/ shows
// the difference against the goroutine engine).
const maxEvents = 256 // epoll events taken per wake-up

// poller is an epoll set and an eventfd in it, through which other
// goroutines wake the one goroutine that waits on the set.
type poller struct {
	ep, wake int
	timer    int           // a timerfd for wake-ups finer than epoll_wait's milliseconds; -1 until first used
	armed    time.Duration // when the timer is set to go off
	events   []unix.EpollEvent
	ev       unix.EpollEvent // epoll_ctl's argument, kept here so it does not escape per call
	epoch    time.Time
	now      time.Duration // since epoch, read once per wake-up
	yielded  yield.Clock   // when the goroutine last let the scheduler run
}

func newPoller() (*poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{ep: ep, wake: wake, timer: -1, events: make([]unix.EpollEvent, maxEvents), epoch: time.Now()}
	if err := p.watch(wake, unix.EPOLL_CTL_ADD, unix.EPOLLIN); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}

func (p *poller) watch(fd, op int, events uint32) error {
	p.ev = unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(p.ep, op, fd, &p.ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func (p *poller) unwatch(fd int) { unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil) }

// wait returns the next events, sleeping at most msec milliseconds (-1:
// until there are some). Only a broken epoll set makes it fail.
func (p *poller) wait(msec int) ([]unix.EpollEvent, error) {
	p.yielded.Tick(p.now)
	n, err := unix.EpollWait(p.ep, p.events, msec)
	p.now = time.Since(p.epoch)
	if err == unix.EINTR {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("epoll_wait: %w", err)
	}
	return p.events[:n], nil
}

// post wakes the waiting goroutine; it reads woken to know why.
func (p *poller) post() {
	one := [8]byte{1}
	unix.Write(p.wake, one[:])
}

// woken resets the eventfd after post.
func (p *poller) woken() {
	var b [8]byte
	unix.Read(p.wake, b[:])
}

// release closes the set and the eventfd once nothing waits on them.
func (p *poller) release() {
	if p.timer >= 0 {
		unix.Close(p.timer)
	}
	unix.Close(p.wake)
	unix.Close(p.ep)
}

// wakeAt has the set report the timer's descriptor at at (since epoch),
// to the microsecond: epoch_wait's timeout counts whole milliseconds, so
// an echo delayed by 5 ms would go at up to 6. The timerfd is made on
// first use; only faults use it.
func (p *poller) wakeAt(at time.Duration) error {
	if p.timer >= 0 && at == p.armed {
		return nil
	}
	if p.timer < 0 {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("timerfd_create: %w", err)
		}
		p.timer = fd
		if err := p.watch(fd, unix.EPOLL_CTL_ADD, unix.EPOLLIN); err != nil {
			return err
		}
	}
	// A relative time of zero would disarm the timer: at least 1 ns.
	d := max(at-time.Since(p.epoch), 1)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.timer, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	p.armed = at
	return nil
}

// isTimer reports whether fd is the timer, and clears its expiry if so.
func (p *poller) isTimer(fd int) bool {
	if p.timer < 0 || fd != p.timer {
		return false
	}
	var b [8]byte
	unix.Read(p.timer, b[:])
	p.armed = -1
	return true
}

// detach gives a server a descriptor of its own for c's socket and closes
// c. Left in Go's poller, the socket would wake a thread for every new
// connection or datagram only to find no goroutine waiting for it.
func detach(c interface {
	syscall.Conn
	Close() error
}) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, fmt.Errorf("dup socket: %w", derr)
	}
	c.Close() // the duplicate keeps the socket open
	return fd, nil
}
