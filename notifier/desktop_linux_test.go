package notifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/goleak"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(desktoptest.Main(m, desktoptest.Needs{})) }

func untilN(n int) func([]desktoptest.Notification) bool {
	return func(ns []desktoptest.Notification) bool { return len(ns) >= n }
}

func TestMessagesReachTheSessionNotificationServerWithNameUrgencyAndEscapedBody(t *testing.T) {
	desktoptest.Require(t)
	srv := desktoptest.StartNotifications(t)
	var notified notifiedLog
	d := newTestDispatcher(t, Config{Notifier: NewDesktop(quiet), Notified: notified.record})

	sent := []conn.Message{
		{Server: "srv", ID: "1", Source: "a", Title: "Backup done", Body: "<b>hi</b> & bye", Priority: conn.PriorityDefault},
		{Server: "srv", ID: "2", Source: "b", Title: "Disk <90%>", Body: "low", Priority: conn.PriorityLow},
		{Server: "srv", ID: "3", Source: "c", Title: "Server down", Body: "urgent\nsecond line", Priority: conn.PriorityUrgent},
		{Server: "srv", ID: "4", Source: "d", Title: "fyi", Body: "min", Priority: conn.PriorityMin},
		{Server: "srv", ID: "5", Source: "e", Title: "a\u202Eb", Body: "x\x1by", Priority: conn.PriorityHigh},
	}
	for _, m := range sent {
		if !d.Dispatch(m) {
			t.Fatalf("message %s refused", m.ID)
		}
	}
	got := srv.Wait(t, 10*time.Second, untilN(len(sent)))
	want := []struct {
		summary, body string
		urgency       int
	}{
		{"Backup done", "&lt;b&gt;hi&lt;/b&gt; &amp; bye", 1},
		{"Disk &lt;90%&gt;", "low", 0},
		{"Server down", "urgent\nsecond line", 2},
		{"fyi", "min", 0},
		{"ab", "xy", 1}, // high is an ordinary popup: only urgent never expires
	}
	for i, w := range want {
		n := got[i]
		if n.AppName != "Tidings" || n.Summary != w.summary || n.Body != w.body || n.Urgency() != w.urgency {
			t.Errorf("notification %d: app=%q summary=%q body=%q urgency=%d; want %q %q %d",
				i, n.AppName, n.Summary, n.Body, n.Urgency(), w.summary, w.body, w.urgency)
		}
		if _, err := iconFromHint(n); err != nil {
			t.Errorf("notification %d: %v", i, err)
		}
		if _, ok := n.Hints["image-data"]; ok {
			t.Errorf("notification %d: carries the icon's pixels although its file could be written", i)
		}
		if v, ok := n.Hints["desktop-entry"]; !ok || v.Value() != DesktopEntry {
			t.Errorf("notification %d: desktop-entry hint = %v", i, v)
		}
		if n.AppIcon != "" {
			t.Errorf("notification %d: app_icon %q (no remote or file icons)", i, n.AppIcon)
		}
	}
	testkit.Eventually(t, "all five notified", func() bool { return len(notified.snapshot()) == 5 })
	if c := d.counters(); c.Shown != 5 || c.Failed != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// iconFromHint decodes the PNG that n's image-path hint names.
func iconFromHint(n desktoptest.Notification) (image.Image, error) {
	v, ok := n.Hints["image-path"]
	if !ok {
		return nil, errors.New("no image-path hint")
	}
	s, _ := v.Value().(string)
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "file" {
		return nil, fmt.Errorf("image-path %q is not a file URI", s)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

func TestThePopupIconIsA64PixelPNGInTheUsersCacheDirectory(t *testing.T) {
	desktoptest.Require(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(cache, "a dir with spaces"))
	srv := desktoptest.StartNotifications(t)
	if err := NewDesktop(quiet).Show(context.Background(), Popup{Title: "icon"}); err != nil {
		t.Fatal(err)
	}
	n := srv.Wait(t, 10*time.Second, untilN(1))[0]
	img, err := iconFromHint(n)
	if err != nil {
		t.Fatal(err)
	}
	if want := "file://" + filepath.ToSlash(filepath.Join(cache, "a%20dir%20with%20spaces", "tidings", iconFileName)); n.Hints["image-path"].Value() != want {
		t.Fatalf("image-path %v, want %s", n.Hints["image-path"].Value(), want)
	}
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Fatalf("icon %dx%d", b.Dx(), b.Dy())
	}
	opaque := 0
	for y := range 64 {
		for x := range 64 {
			if _, _, _, a := img.At(x, y).RGBA(); a > 200*257 {
				opaque++
			}
		}
	}
	if opaque < 64*64/4 {
		t.Fatalf("only %d opaque pixels: the icon did not survive scaling", opaque)
	}
}

func TestAnIconFileThatChangedIsWrittenAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tidings")
	img, err := appIcon64()
	if err != nil {
		t.Fatal(err)
	}
	path, err := writeIconFile(dir, img)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeIconFile(dir, img); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Fatalf("the damaged icon file was kept (%d bytes)", len(got))
	}
}

func TestWithoutAWritableCacheDirectoryThePopupCarriesTheIconsPixels(t *testing.T) {
	desktoptest.Require(t)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", notADir)
	srv := desktoptest.StartNotifications(t)
	if err := NewDesktop(quiet).Show(context.Background(), Popup{Title: "icon"}); err != nil {
		t.Fatal(err)
	}
	n := srv.Wait(t, 10*time.Second, untilN(1))[0]
	if _, ok := n.Hints["image-path"]; ok {
		t.Fatal("image-path hint without a file")
	}
	var img imageData
	if err := dbus.Store([]interface{}{n.Hints["image-data"].Value()}, &img); err != nil {
		t.Fatal(err)
	}
	if img.W != 64 || img.H != 64 || img.Stride != 256 || len(img.Data) != 64*256 || !img.Alpha || img.Channels != 4 {
		t.Fatalf("image-data %dx%d stride %d, %d bytes", img.W, img.H, img.Stride, len(img.Data))
	}
}

func TestAMergedCountReplacesTheFirstPopupInPlace(t *testing.T) {
	desktoptest.Require(t)
	srv := desktoptest.StartNotifications(t)
	d := newTestDispatcher(t, Config{Notifier: NewDesktop(quiet), MergeWindow: 200 * time.Millisecond})
	for i := range 3 {
		d.Dispatch(conn.Message{Server: "srv", ID: fmt.Sprint(i), Source: "mon", Title: "Ping failed", Body: "host down"})
	}
	got := srv.Wait(t, 10*time.Second, untilN(2))
	if got[0].Summary != "Ping failed" || got[1].Summary != "Ping failed (×3)" {
		t.Fatalf("summaries %q, %q", got[0].Summary, got[1].Summary)
	}
	if got[0].ReplacesID != 0 || got[1].ReplacesID != got[0].ID {
		t.Fatalf("the count did not replace the first popup: ids %d → replaces %d", got[0].ID, got[1].ReplacesID)
	}
}

func TestBeeepIsTheFallbackAndAlsoReachesTheServerAsTidings(t *testing.T) {
	desktoptest.Require(t)
	srv := desktoptest.StartNotifications(t)
	d := NewDesktop(quiet)
	d.bus = func() (*dbus.Conn, error) { return nil, errors.New("no direct bus for this test") }
	if err := d.Show(context.Background(), Popup{Title: "Via <beeep>", Body: "<b>hi</b> & bye", Urgency: UrgencyNormal}); err != nil {
		t.Fatal(err)
	}
	n := srv.Wait(t, 10*time.Second, untilN(1))[0]
	if n.AppName != "Tidings" || n.Summary != "Via &lt;beeep&gt;" || n.Body != "&lt;b&gt;hi&lt;/b&gt; &amp; bye" || n.Urgency() != 1 {
		t.Fatalf("app=%q summary=%q body=%q urgency=%d", n.AppName, n.Summary, n.Body, n.Urgency())
	}
	if _, ok := n.Hints["image-data"]; !ok {
		t.Fatal("beeep did not pass the icon bytes")
	}
}

func TestWithoutANotificationServerShowFailsWithAClearError(t *testing.T) {
	desktoptest.Require(t)
	// No StartNotifications: nobody owns the name on this bus. beeep then
	// tries notify-send and kdialog, which may be installed; only check
	// that the direct D-Bus path reports the missing server.
	d := NewDesktop(quiet)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.notifyDBus(ctx, Popup{Title: "nobody"}); err == nil {
		t.Fatal("a popup with no server on the bus succeeded")
	}
}

func TestClickingAPopupOpensItsURLAndOnlyTheServerCanClick(t *testing.T) {
	env := desktoptest.Require(t)
	srv := desktoptest.StartNotifications(t)
	opened := make(chan string, 4)
	d := NewDesktop(quiet)
	d.Open = func(_ context.Context, u string) error { opened <- u; return nil }
	if _, err := dbus.SessionBus(); err != nil { // shared and never closed: not a leak
		t.Fatal(err)
	}
	ignore := goleak.IgnoreCurrent()
	ctx := context.Background()
	if err := d.Show(ctx, Popup{Title: "with link", URL: "https://example.com/run/42"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Show(ctx, Popup{Title: "no link"}); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 10*time.Second, untilN(2))
	if !slices.Equal(got[0].Actions, []string{"default", "Open"}) || len(got[1].Actions) != 0 {
		t.Fatalf("actions %q / %q", got[0].Actions, got[1].Actions)
	}
	// Issue 21.7: the action's label is in the user's language.
	d.SetOpenLabel("打开")
	if err := d.Show(ctx, Popup{Title: "with link, in Chinese", URL: "https://example.com/run/43"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Wait(t, 10*time.Second, untilN(3)); !slices.Equal(got[2].Actions, []string{"default", "打开"}) {
		t.Fatalf("translated actions %q", got[2].Actions)
	}

	// Another program on the bus forging the click is ignored.
	forger, err := dbus.Connect(env.BusAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	if err := forger.Emit(fdoPath, fdoInvoked, got[0].ID, "default"); err != nil {
		t.Fatal(err)
	}
	// The server's own clicks: first on the popup without a URL, then on
	// the one with it. Signals arrive in order, so when the URL shows up the
	// forged and the URL-less clicks have been handled.
	if err := srv.Invoke(got[1].ID, "default"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Invoke(got[0].ID, "default"); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-opened:
		if u != "https://example.com/run/42" {
			t.Fatalf("opened %q", u)
		}
	case <-time.After(testkit.Patience()):
		t.Fatal("the click did not open the URL")
	}
	if len(opened) != 0 {
		t.Fatalf("more than one URL opened: %q", <-opened)
	}
	forger.Close()
	d.Close()
	if err := testkit.FindLeaks(ignore); err != nil {
		t.Fatalf("the click listener did not stop: %v", err)
	}
}
