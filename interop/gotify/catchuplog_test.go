package gotifyinterop

import (
	"context"
	"testing"

	"github.com/tidings-app/tidings/conn"
)

// loggingAdapter logs every catch-up result (after which id, what came
// back), so a loss in the restart loop can be traced to one walk.
type loggingAdapter struct {
	*conn.GotifyAdapter
	t *testing.T
}

func (l loggingAdapter) CatchUp(ctx context.Context, get conn.Fetcher, last string) ([]conn.Message, error) {
	m, err := l.GotifyAdapter.CatchUp(ctx, get, last)
	first, lastID := "", ""
	if len(m) > 0 {
		first, lastID = m[0].ID, m[len(m)-1].ID
	}
	l.t.Logf("catch-up after %s: %d msgs %s..%s err %v", last, len(m), first, lastID, err)
	return m, err
}
