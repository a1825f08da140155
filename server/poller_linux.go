//go:build linux

package server

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// poller waits, in one goroutine, for any of the idle sockets to become
// readable (epoll, one-shot), and then runs ready for that socket on a
// goroutine of its own, which reads what arrived without blocking and
// re-arms. An idle socket therefore holds no goroutine and no stack: at
// 10 000 connections that is about 4 KiB each (see BENCHMARKS.md §6).
//
// Sockets are told apart by an id in the epoll data, not by their file
// descriptor, and leave the epoll set before they are closed, so a number
// the kernel reuses for a new socket never reaches the old client.
type poller struct {
	epfd  int
	wake  [2]int // a pipe: writing to it ends run
	ready func(*client)

	mu    sync.Mutex
	conns map[uint64]*client
	next  uint64
	done  chan struct{}
	once  sync.Once
}

const wakeID = 0 // the pipe's id; sockets count from 1

// newPoller starts the epoll loop. ready runs on a new goroutine for each
// readiness event.
func newPoller(ready func(*client)) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	p := &poller{epfd: epfd, ready: ready, conns: map[uint64]*client{}, done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("server: epoll wake pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setID(&ev, wakeID)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	go p.run()
	return p, nil
}

func setID(ev *syscall.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func idOf(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// add watches c's socket (file descriptor fd) for one readiness event.
func (p *poller) add(c *client, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	ev := syscall.EpollEvent{Events: pollEvents}
	setID(&ev, p.next)
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("server: epoll add: %w", err)
	}
	c.pollID, c.fd = p.next, fd
	p.conns[p.next] = c
	return nil
}

// rearm watches c again after ready has read what there was; nothing if c
// was removed meanwhile.
func (p *poller) rearm(c *client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[c.pollID] != c {
		return
	}
	ev := syscall.EpollEvent{Events: pollEvents}
	setID(&ev, c.pollID)
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		delete(p.conns, c.pollID)
		c.s.log.Warn("socket closed", "user", c.user, "err", fmt.Errorf("server: epoll re-arm: %w", err))
		go c.terminate() // cannot be watched: drop it rather than leave it deaf
	}
}

// remove stops watching c. Call it before the socket is closed.
func (p *poller) remove(c *client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[c.pollID] != c {
		return
	}
	delete(p.conns, c.pollID)
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for i := range n {
			id := idOf(&events[i])
			if id == wakeID {
				return
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				go p.ready(c)
			}
		}
	}
}

// close ends the loop and releases the epoll set. Sockets still watched
// are not closed (Shutdown has closed them).
func (p *poller) close() {
	p.once.Do(func() {
		_, _ = syscall.Write(p.wake[1], []byte{1})
		<-p.done
		p.closeFDs()
	})
}

func (p *poller) closeFDs() {
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
	syscall.Close(p.epfd)
}

// read reads what c's socket holds without waiting: again reports that
// there was nothing (EAGAIN); n == 0 with no error is the peer's EOF.
func (p *poller) read(c *client, buf []byte) (n int, again bool, err error) {
	var rerr error
	cerr := c.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if !errors.Is(rerr, syscall.EINTR) {
				return true // never park: the poller waits, not this goroutine
			}
		}
	})
	switch {
	case cerr != nil:
		return 0, false, cerr
	case errors.Is(rerr, syscall.EAGAIN):
		return 0, true, nil
	case rerr != nil:
		return 0, false, rerr
	}
	return n, false, nil
}
