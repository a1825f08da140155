// Package instance keeps one running copy of the app per user. The first
// launch takes an exclusive lock on a file (flock, LockFileEx on Windows)
// and listens on a local endpoint; a later launch finds the lock taken,
// hands its command ("show-history") to the running copy through the
// endpoint, and exits.
//
// The endpoint is a Unix domain socket beside the lock on Unix, in a
// per-user directory ($XDG_RUNTIME_DIR/<appID> on Linux, the user cache
// directory elsewhere), the directory 0700 and the socket 0600; on Windows
// it is a named pipe only this user may open. A crashed instance leaves its
// files behind; the kernel drops its lock, so the next launch takes the
// lock and replaces the stale socket. When the endpoint cannot be made,
// the lock is kept all the same: a later launch still finds Tidings
// running (ErrRunning) and its Send fails with ErrNoAnswer, so it can say
// so, and two copies never run.
package instance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors callers can test for with errors.Is.
var (
	// ErrRunning: another instance holds the lock; Send it a command and exit.
	ErrRunning = errors.New("instance: another instance is running")
	// ErrNoAnswer: no running instance accepted the command in time.
	ErrNoAnswer = errors.New("instance: the running instance did not answer")
	// ErrBadCommand: a command must be 1–64 bytes of printable ASCII without spaces.
	ErrBadCommand = errors.New("instance: bad command")
	// ErrRefused: the running instance answered but refused the command.
	ErrRefused = errors.New("instance: command refused")
	// ErrPathTooLong: the socket path exceeds what AF_UNIX can bind.
	ErrPathTooLong = errors.New("instance: socket path too long")
)

const (
	magic      = "TIDINGS-INSTANCE/1"
	maxCommand = 64
	maxLine    = len(magic) + 1 + maxCommand + 1
	// maxSockPath is the smallest sun_path limit among the OSes (macOS: 104
	// bytes with the NUL).
	maxSockPath = 103
)

// Config configures Acquire and Send. Only AppID is required.
type Config struct {
	AppID string
	// Dir holds the lock and the socket; empty means DefaultDir(AppID).
	Dir string
	// Handler receives each command a later launch sends. Calls are
	// serialised, on a goroutine of this package: a UI must hop to its own
	// goroutine (fyne.Do). It should return quickly; the sender waits.
	Handler func(cmd string)
	Logger  *slog.Logger
	// IOTimeout bounds one exchange on the socket, both sides.
	IOTimeout time.Duration
	// SendTimeout bounds Send's attempts to reach the running instance
	// (it may be between taking the lock and listening).
	SendTimeout time.Duration
	// RetryEvery is the pause between Send's connection attempts.
	RetryEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.IOTimeout <= 0 {
		c.IOTimeout = 2 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 5 * time.Second
	}
	if c.RetryEvery <= 0 {
		c.RetryEvery = 50 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// DefaultDir is the per-user directory for appID's lock and socket:
// $XDG_RUNTIME_DIR/<appID> on Linux and the BSDs when set, otherwise
// <user cache dir>/<appID>.
func DefaultDir(appID string) (string, error) {
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
			return filepath.Join(x, appID), nil
		}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("instance: %w", err)
	}
	return filepath.Join(base, appID), nil
}

func (c Config) paths() (dir, lock, sock string, err error) {
	if c.AppID == "" || strings.ContainsAny(c.AppID, `/\`) || c.AppID == "." || c.AppID == ".." {
		return "", "", "", fmt.Errorf("instance: bad application ID %q", c.AppID)
	}
	dir = c.Dir
	if dir == "" {
		if dir, err = DefaultDir(c.AppID); err != nil {
			return "", "", "", err
		}
	}
	if sock, err = endpoint(c.AppID, dir); err != nil {
		return "", "", "", err
	}
	return dir, filepath.Join(dir, "instance.lock"), sock, nil
}

// Instance is the running, single instance: it holds the lock and serves
// the socket until Close.
type Instance struct {
	cfg      Config
	lock     *os.File
	ln       net.Listener
	sockPath string

	handlerMu sync.Mutex
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    chan struct{}
	connsMu   sync.Mutex
	conns     map[net.Conn]struct{}
}

// Acquire makes this process the app's single instance, with handler
// receiving commands from later launches. It returns ErrRunning when
// another instance holds the lock.
func Acquire(appID string, handler func(cmd string)) (*Instance, error) {
	return Config{AppID: appID, Handler: handler}.Acquire()
}

// Send hands cmd to the running instance of appID.
func Send(appID, cmd string) error {
	return Config{AppID: appID}.Send(context.Background(), cmd)
}

// Acquire: see the package function.
func (c Config) Acquire() (*Instance, error) {
	c = c.withDefaults()
	dir, lockPath, sockPath, err := c.paths()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	_ = os.Chmod(dir, 0o700) // ours alone, whatever umask or an older version left
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("instance: open lock: %w", err)
	}
	if err := tryLock(lock); err != nil {
		lock.Close()
		return nil, err
	}
	if err := writePID(lock); err != nil {
		c.Logger.Debug("instance: could not record pid in lock file", "err", err)
	}
	in := &Instance{cfg: c, lock: lock, sockPath: sockPath,
		closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	ln, err := listen(sockPath, c.Logger)
	if err != nil {
		// Still the only instance: later launches find the lock and are
		// told we run; they just cannot hand over their command.
		c.Logger.Warn("instance: cannot listen for later launches; they will be told Tidings is already running",
			"endpoint", sockPath, "err", err)
		return in, nil
	}
	in.ln = ln
	in.wg.Add(1)
	go in.serve()
	return in, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// SocketPath is where the instance listens: a socket path, or a pipe name
// on Windows.
func (in *Instance) SocketPath() string { return in.sockPath }

// Listening reports whether later launches can hand commands over.
func (in *Instance) Listening() bool { return in.ln != nil }

// Close stops serving, waits for exchanges in progress, removes the socket
// and releases the lock. It is safe to call more than once.
func (in *Instance) Close() error {
	var err error
	in.closeOnce.Do(func() {
		close(in.closed)
		if in.ln != nil {
			err = in.ln.Close() // unlinks the socket file
		}
		in.connsMu.Lock()
		for c := range in.conns {
			c.Close()
		}
		in.connsMu.Unlock()
		in.wg.Wait()
		unlisten(in.sockPath)
		unlock(in.lock)
		if cerr := in.lock.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

func (in *Instance) serve() {
	defer in.wg.Done()
	for {
		conn, err := in.ln.Accept()
		if err != nil {
			select {
			case <-in.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			in.cfg.Logger.Error("instance: accept failed; no longer listening", "err", err)
			return
		}
		in.connsMu.Lock()
		in.conns[conn] = struct{}{}
		in.connsMu.Unlock()
		select {
		case <-in.closed: // Close may have swept conns before we added this one
			conn.Close()
		default:
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.exchange(conn)
			in.connsMu.Lock()
			delete(in.conns, conn)
			in.connsMu.Unlock()
			conn.Close()
		}()
	}
}

// exchange reads one "TIDINGS-INSTANCE/1 <cmd>" line and answers "OK" or
// "ERR <why>". A silent or slow peer is dropped after IOTimeout.
func (in *Instance) exchange(conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(in.cfg.IOTimeout))
	line, err := readLine(conn)
	if err != nil {
		in.cfg.Logger.Debug("instance: dropped a connection", "err", err)
		return
	}
	cmd, ok := strings.CutPrefix(line, magic+" ")
	if !ok || checkCommand(cmd) != nil {
		in.cfg.Logger.Warn("instance: refused a malformed request on the socket")
		_, _ = io.WriteString(conn, "ERR malformed\n")
		return
	}
	in.cfg.Logger.Info("instance: command from another launch", "cmd", cmd)
	if in.cfg.Handler != nil {
		in.handlerMu.Lock()
		in.cfg.Handler(cmd)
		in.handlerMu.Unlock()
	}
	_, _ = io.WriteString(conn, "OK\n")
}

// readLine reads up to maxLine bytes ending in '\n', without the newline.
func readLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, int64(maxLine)), maxLine)
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("line too long or cut short")
		}
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

func checkCommand(cmd string) error {
	if cmd == "" || len(cmd) > maxCommand {
		return fmt.Errorf("%w: length %d", ErrBadCommand, len(cmd))
	}
	for i := 0; i < len(cmd); i++ {
		if cmd[i] <= ' ' || cmd[i] > '~' {
			return fmt.Errorf("%w: byte %#x", ErrBadCommand, cmd[i])
		}
	}
	return nil
}
