package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// LastID returns server's resume point: the id of the message stored last
// for it, or the position SetResumePoint recorded before any message came;
// "" when there is none. The connection resumes after it (since=) at start,
// so nothing sent while the app was closed is missed. It is kept apart from
// the rows (schema 4): a cleared or pruned history keeps its position, and
// it only moves when a message is durably stored. Messages arrive in
// delivery order, so the last stored is the last delivered — for protocols
// with ordered ids and for ntfy's random ones alike.
func (s *Store) LastID(ctx context.Context, server string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx,
		`SELECT point FROM resume_points WHERE server = ?`, server).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail("last id", err)
	}
	return id, nil
}

// SetResumePoint records where server's connection may resume when no
// message was ever stored for it (ntfy: the Unix time of the first
// connection, which it accepts as since=). It never moves an existing
// resume point.
func (s *Store) SetResumePoint(ctx context.Context, server, point string) error {
	if server == "" || point == "" || len(server) > s.cfg.MaxKeyBytes || len(point) > s.cfg.MaxKeyBytes {
		return fmt.Errorf("%w: empty or oversized server or resume point", ErrInvalid)
	}
	return s.write(ctx, "resume point", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO resume_points (server, point) VALUES (?, ?) ON CONFLICT (server) DO NOTHING`, server, point)
		return err
	})
}

// Sources returns the distinct message sources, sorted, for the settings
// window's mute list.
func (s *Store) Sources(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT source FROM messages WHERE source != '' ORDER BY source`)
	if err != nil {
		return nil, s.fail("sources", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var src string
		if err := rows.Scan(&src); err != nil {
			return nil, s.fail("sources", err)
		}
		out = append(out, src)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("sources", err)
	}
	return out, nil
}

// RecentIDs returns the ids of the last n messages stored for server,
// oldest first. The connection seeds its repeat filter with them, so a
// server that replays its whole cache (ntfy, after forgetting the last id)
// repeats nothing across restarts.
func (s *Store) RecentIDs(ctx context.Context, server string, n int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT msg_id FROM messages WHERE server = ? ORDER BY seq DESC LIMIT ?`, server, n)
	if err != nil {
		return nil, s.fail("recent ids", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.fail("recent ids", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("recent ids", err)
	}
	slices.Reverse(ids)
	return ids, nil
}

// Rebase is for a server whose ids restarted lower (conn.IDsRestarted):
// its new messages reuse ids that server's rows hold. In one transaction
// the rows keep everything (text, read marks) under new ids, prefix
// "before-<unix time>:", so no new message collides with an old one and is
// taken for a repeat, and the resume point becomes point, the server's
// newest id now.
func (s *Store) Rebase(ctx context.Context, server, point string, now time.Time) error {
	if server == "" || point == "" || len(server) > s.cfg.MaxKeyBytes || len(point) > s.cfg.MaxKeyBytes {
		return fmt.Errorf("%w: empty or oversized server or resume point", ErrInvalid)
	}
	prefix := "before-" + strconv.FormatInt(now.Unix(), 10) + ":"
	return s.write(ctx, "rebase", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`UPDATE messages SET msg_id = ? || msg_id WHERE server = ?`, prefix, server); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO resume_points (server, point) VALUES (?, ?) ON CONFLICT (server) DO UPDATE SET point = excluded.point`,
			server, point)
		return err
	})
}

// LastSent is the server timestamp of the newest message stored for
// server (zero when none, or none has one): after a rebase, what that
// server still holds from no later than this is not new.
func (s *Store) LastSent(ctx context.Context, server string) (time.Time, error) {
	var us sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(sent) FROM messages WHERE server = ?`, server).Scan(&us)
	if err != nil {
		return time.Time{}, s.fail("last sent", err)
	}
	if !us.Valid {
		return time.Time{}, nil
	}
	return time.UnixMicro(us.Int64), nil
}
