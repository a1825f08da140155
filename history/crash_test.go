package history

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// The crash test re-executes the test binary as a child that behaves like
// the app: at start it re-pops stored-but-not-notified messages, then it
// stores messages and, for each new one, "pops" it (appends a line to a
// popup log and fsyncs it) and calls MarkNotified. The parent kills it with
// SIGKILL at random points.

const (
	crashChildEnv = "TIDINGS_HISTORY_CRASH_CHILD" // run number, or "drain"
	crashDBEnv    = "TIDINGS_HISTORY_CRASH_DB"
	crashLogEnv   = "TIDINGS_HISTORY_CRASH_POPLOG"
	crashRuns     = 100
)

func TestMain(m *testing.M) {
	if run := os.Getenv(crashChildEnv); run != "" {
		if err := crashChild(run, os.Getenv(crashDBEnv), os.Getenv(crashLogEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	cleanupBench()
	os.Exit(code)
}

// crashChild is the app stand-in. It prints "ready" after its start-up
// re-pops and "stored <id>" after each Insert that stored a new message.
func crashChild(run, dbPath, logPath string) error {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: dbPath, MaxAge: -1, MaxCount: -1, RetentionInterval: -1})
	if err != nil {
		return err
	}
	defer s.Close()
	if s.MovedAside() != "" || s.Path() == "" {
		return fmt.Errorf("database was not reopened cleanly: moved aside %q, path %q", s.MovedAside(), s.Path())
	}
	popLog, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer popLog.Close()
	pop := func(line string) error {
		if _, err := popLog.WriteString(line + "\n"); err != nil { // one write(2)
			return err
		}
		return popLog.Sync()
	}
	if err := pop("run " + run); err != nil {
		return err
	}
	// Start-up: re-pop what a crash may have left unpopped.
	for {
		es, err := s.Unnotified(ctx, 100)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if err := pop("pop " + e.ID); err != nil {
				return err
			}
			if err := s.MarkNotified(ctx, e.Key()); err != nil {
				return err
			}
		}
	}
	fmt.Println("ready")
	if run == "drain" {
		return nil
	}
	k, err := strconv.Atoi(run)
	if err != nil {
		return err
	}
	// notify pops one newly stored message and marks it, so at most one
	// message is ever popped but not yet marked.
	notify := func(m conn.Message) error {
		fmt.Println("stored", m.ID)
		if err := pop("pop " + m.ID); err != nil {
			return err
		}
		return s.MarkNotified(ctx, Key{m.Server, m.ID})
	}
	mk := func(run, j int) conn.Message {
		return conn.Message{Server: "srv", ID: fmt.Sprintf("%d-%d", run, j), Title: "crash test",
			Body: fmt.Sprintf("message %d of run %d", j, run), Source: "crash"}
	}
	// A reconnect replays the previous run's first messages: duplicates
	// must be no-ops (and are not popped again).
	var batch []conn.Message
	for j := range 3 {
		if k > 0 {
			batch = append(batch, mk(k-1, j))
		}
	}
	for j := 0; j < 100_000; {
		// Alternate single inserts and small batches.
		if j%2 == 0 {
			batch = append(batch, mk(k, j))
			j++
		} else {
			for range 3 {
				batch = append(batch, mk(k, j))
				j++
			}
		}
		stored, err := s.InsertBatch(ctx, batch)
		if err != nil {
			return err
		}
		for i, m := range batch {
			if stored[i] {
				if err := notify(m); err != nil {
					return err
				}
			}
		}
		batch = batch[:0]
	}
	return nil
}

// crashRun starts one child and kills it at a random point, returning the
// ids it reported stored. With kill false it waits for a clean exit.
func crashRun(t *testing.T, rng *rand.Rand, run string, dbPath, logPath string, kill bool) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+run, crashDBEnv+"="+dbPath, crashLogEnv+"="+logPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var stored []string
	collect := func(line string) {
		if id, ok := strings.CutPrefix(line, "stored "); ok {
			stored = append(stored, id)
		}
	}
	if kill {
		// A quarter of the kills are timed from the start (they may hit
		// Open, migration or the start-up re-pops). The rest wait for
		// "ready" and 0–5 stored messages, then a random few milliseconds
		// (so they land anywhere in store → pop → mark), whatever the
		// machine's speed.
		var timer <-chan time.Time
		waitStored := -1
		if rng.IntN(4) == 0 {
			timer = time.After(time.Duration(rng.IntN(60)) * time.Millisecond)
		}
		deadline := time.After(testkit.Patience())
	wait:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("run %s: child exited before the kill: %s", run, stderr.String())
				}
				collect(line)
				if line == "ready" && timer == nil {
					waitStored = rng.IntN(6)
				}
				if waitStored >= 0 && len(stored) >= waitStored && timer == nil {
					timer = time.After(time.Duration(rng.IntN(8000)) * time.Microsecond)
				}
			case <-timer:
				break wait
			case <-deadline:
				t.Fatalf("run %s: child never got ready", run)
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
	}
	for line := range lines { // whatever it wrote before dying
		collect(line)
	}
	err = cmd.Wait()
	if kill && err == nil {
		t.Fatalf("run %s: child exited cleanly before the kill", run)
	}
	if !kill && err != nil {
		t.Fatalf("run %s: %v: %s", run, err, stderr.String())
	}
	if strings.Contains(stderr.String(), "crash child:") {
		t.Fatalf("run %s: child failed: %s", run, stderr.String())
	}
	return stored
}

func TestKillingTheAppAtRandomPointsLosesNothingAndRePopsAtMostOncePerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the binary 100 times")
	}
	dir := t.TempDir()
	dbPath, logPath := filepath.Join(dir, FileName), filepath.Join(dir, "popups.log")
	// A fresh seed each run, printed so a failure can be replayed:
	// TIDINGS_SEED=<seed> go test -run Killing ./history/
	seed := testkit.Seed(t, uint64(time.Now().UnixNano()))
	rng := rand.New(rand.NewPCG(seed, 7))
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d: replay with TIDINGS_SEED=%d", seed, seed)
		}
	}()
	start := time.Now()
	reported := map[string]bool{}
	for k := range crashRuns {
		for _, id := range crashRun(t, rng, strconv.Itoa(k), dbPath, logPath, true) {
			reported[id] = true
		}
	}
	crashRun(t, rng, "drain", dbPath, logPath, false)
	elapsed := time.Since(start)

	// The database opens cleanly and is intact.
	matches, _ := filepath.Glob(dbPath + ".corrupt-*")
	if len(matches) > 0 {
		t.Fatalf("a database was moved aside during the runs: %v", matches)
	}
	db := rawDB(t, dbPath)
	defer db.Close()
	assertHealthy(t, db)

	// Nothing reported stored is missing; nothing is stored twice.
	inDB := map[string]bool{}
	rows, err := db.Query(`SELECT msg_id, notified FROM messages WHERE server = 'srv'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var notified bool
		if err := rows.Scan(&id, &notified); err != nil {
			t.Fatal(err)
		}
		if inDB[id] {
			t.Fatalf("message %s stored twice", id)
		}
		inDB[id] = true
		if !notified {
			t.Errorf("message %s still not notified after the drain run", id)
		}
	}
	rows.Close()
	for id := range reported {
		if !inDB[id] {
			t.Errorf("message %s was reported stored but is missing", id)
		}
	}

	// Popups: every stored message popped, none popped that was not stored,
	// and per run at most one message popped that an earlier run had popped.
	logBytes, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	popped := map[string]int{}
	repeatsIn := map[string]int{}
	run, runs := "", 0
	for _, line := range strings.Split(strings.TrimSuffix(string(logBytes), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "run "):
			run = line
			runs++
		case strings.HasPrefix(line, "pop "):
			id := strings.TrimPrefix(line, "pop ")
			if popped[id] > 0 {
				repeatsIn[run]++
			}
			popped[id]++
		default:
			t.Fatalf("malformed popup log line %q", line)
		}
	}
	totalRepeats := 0
	for r, n := range repeatsIn {
		totalRepeats += n
		if n > 1 {
			t.Errorf("%s re-popped %d messages; a crash may cause at most one", r, n)
		}
	}
	for id := range inDB {
		if popped[id] == 0 {
			t.Errorf("stored message %s was never popped", id)
		}
	}
	for id := range popped {
		if !inDB[id] {
			t.Errorf("message %s was popped but is not stored", id)
		}
	}
	// Runs killed before writing their marker are not in the log.
	if run != "run drain" || runs > crashRuns+1 {
		t.Errorf("popup log shows %d runs ending with %q; want at most %d ending with the drain run", runs, run, crashRuns+1)
	}
	if len(reported) < crashRuns/2 {
		t.Fatalf("only %d messages stored over %d runs: the kills came too early to test anything", len(reported), crashRuns)
	}
	t.Logf("%d kills in %v: %d messages stored (%d reported before the kill), %d re-popped after a crash",
		crashRuns, elapsed.Round(time.Millisecond), len(inDB), len(reported), totalRepeats)
}
