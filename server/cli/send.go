package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server"
)

// ErrSend is the error of a publish the server refused.
var ErrSend = errors.New("cli: send failed")

func runSend(ctx context.Context, args []string, env Env) error {
	fs, _ := newFlags("send", env)
	srvURL := fs.String("server", "", "server URL (default $TIDINGS_SERVER)")
	tokenFlag := fs.String("token", "", "publisher token (default $TIDINGS_TOKEN)")
	to := fs.String("to", "", "user name")
	group := fs.String("group", "", "group name")
	all := fs.Bool("all", false, "every user")
	priority := fs.Int("priority", 0, "1-5 (default 3)")
	clickURL := fs.String("url", "", "click URL")
	topic := fs.String("topic", "", "topic shown as the source")
	markdown := fs.Bool("markdown", false, "the body is Markdown")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	req := proto.PublishRequest{To: *to, Group: *group, All: *all, Priority: *priority, URL: *clickURL, Topic: *topic}
	switch len(pos) {
	case 1:
		req.Message = pos[0]
	case 2:
		req.Title, req.Message = pos[0], pos[1]
	default:
		return errUsage
	}
	if *markdown {
		req.ContentType = proto.ContentMarkdown
	}
	base := orEnv(*srvURL, env, EnvServer)
	tok := server.Secret(orEnv(*tokenFlag, env, EnvToken))
	if base == "" || tok == "" {
		return fmt.Errorf("%w: --server and --token (or %s and %s) are required", errUsage, EnvServer, EnvToken)
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + proto.PathPublish)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: --server must be an http or https URL without user info", ErrSend)
	}
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := (&http.Client{Timeout: *timeout}).Do(hreq)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var er proto.ErrorResponse
		reason := http.StatusText(resp.StatusCode)
		if json.Unmarshal(rb, &er) == nil && er.Error != "" {
			reason = er.Error
		}
		return fmt.Errorf("%w: %d %s", ErrSend, resp.StatusCode, reason)
	}
	var pr proto.PublishResponse
	if err := json.Unmarshal(rb, &pr); err != nil {
		return fmt.Errorf("%w: unreadable answer", ErrSend)
	}
	fmt.Fprintf(env.Stdout, "sent to %d recipient(s)\n", pr.Recipients)
	return nil
}
