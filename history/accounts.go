package history

import (
	"context"
	"database/sql"
	"errors"
	"slices"
)

// LastID returns the id of the message stored last for server, "" when
// there is none. The connection resumes after it (since=) at start, so
// nothing sent while the app was closed is missed. Messages arrive in
// delivery order, so the newest row is the last one delivered — for
// protocols with ordered ids and for ntfy's random ones alike.
func (s *Store) LastID(ctx context.Context, server string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx,
		`SELECT msg_id FROM messages WHERE server = ? ORDER BY seq DESC LIMIT 1`, server).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail("last id", err)
	}
	return id, nil
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
