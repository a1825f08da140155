package history

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Prune applies the retention limits now: it deletes messages received
// before now−MaxAge and all but the newest MaxCount messages, oldest first,
// in transactions of at most PruneBatch rows, and returns how many it
// deleted.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	var total int64
	maxAge, maxCount := s.retention()
	if maxAge > 0 {
		cutoff := s.cfg.Now().Add(-maxAge).UnixMicro()
		n, err := s.pruneBatches(ctx, `DELETE FROM messages WHERE seq IN (
			SELECT seq FROM messages WHERE received < ? ORDER BY received, seq LIMIT ?)`,
			cutoff, s.cfg.PruneBatch)
		total += n
		if err != nil {
			return total, err
		}
	}
	if maxCount > 0 {
		n, err := s.pruneBatches(ctx, `DELETE FROM messages WHERE seq IN (
			SELECT seq FROM messages ORDER BY received, seq
			LIMIT min(?, max(0, (SELECT count(*) FROM messages) - ?)))`,
			s.cfg.PruneBatch, maxCount)
		total += n
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		s.log.Info("pruned history", "deleted", total)
		s.watchers.notify()
	}
	return total, nil
}

// pruneBatches runs a bounded DELETE, each time in its own transaction,
// until it deletes nothing.
func (s *Store) pruneBatches(ctx context.Context, query string, args ...any) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, "prune", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// SetRetention changes the limits at once (a value <= 0 means no limit)
// and prunes to them in the background.
func (s *Store) SetRetention(maxAge time.Duration, maxCount int) {
	s.retMu.Lock()
	s.maxAge, s.maxCount = maxAge, maxCount
	s.retMu.Unlock()
	select {
	case s.pruneNow <- struct{}{}:
	default:
	}
}

func (s *Store) retention() (time.Duration, int) {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	return s.maxAge, s.maxCount
}

// retentionLoop prunes at start and then every RetentionInterval until ctx
// ends (Open's ctx or Close).
func (s *Store) retentionLoop(ctx context.Context) {
	defer close(s.done)
	if s.cfg.RetentionInterval < 0 {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pruneNow:
		}
		if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			s.log.Warn("pruning history failed; will retry", "err", err, "retry_in", s.cfg.RetentionInterval)
		}
		t.Reset(s.cfg.RetentionInterval)
	}
}
