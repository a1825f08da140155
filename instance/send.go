package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Send hands cmd to the running instance and waits for its answer. It
// keeps trying for SendTimeout (or until ctx ends) while nobody listens
// yet: the running instance may have just taken the lock.
func (c Config) Send(ctx context.Context, cmd string) error {
	c = c.withDefaults()
	if err := checkCommand(cmd); err != nil {
		return err
	}
	_, _, sock, err := c.paths()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.SendTimeout)
	defer cancel()
	retry := time.NewTimer(0)
	defer retry.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("%w: %w", ErrNoAnswer, last)
		case <-retry.C:
		}
		last = c.sendOnce(ctx, sock, cmd)
		if last == nil || errors.Is(last, ErrRefused) {
			return last
		}
		if errors.Is(last, ErrPathTooLong) { // nobody can listen there
			return fmt.Errorf("%w: %w", ErrNoAnswer, last)
		}
		retry.Reset(c.RetryEvery)
	}
}

func (c Config) sendOnce(ctx context.Context, sock, cmd string) error {
	conn, err := dial(ctx, sock, c.IOTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(c.IOTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, magic+" "+cmd+"\n"); err != nil {
		return err
	}
	answer, err := readLine(conn)
	if err != nil {
		return err
	}
	if answer == "OK" {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrRefused, strings.TrimPrefix(answer, "ERR "))
}
