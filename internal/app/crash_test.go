package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// The crash test re-runs this test binary as a child that runs a real App
// whose watch emits findings as fast as it can and prints each one once
// Emit has returned (persisted). The parent kills the child with SIGKILL at
// random moments, restarts it on the same data directory, and at the end
// checks that every printed finding is in the store and nothing is doubled.
const crashChildEnv = "VIGIE_CRASH_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	emitter := &fakeWatch{name: "emitter", run: func(ctx context.Context, _ int32, d Deps) error {
		for i := 0; ctx.Err() == nil; i++ {
			key := fmt.Sprintf("k%02d", i%20)
			err := d.Sink.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "crash", Subject: key, Severity: vigie.SeverityWarning,
				Summary: "crash test"})
			if err != nil {
				return err
			}
			fmt.Printf("persisted %s\n", key)
		}
		return nil
	}}
	a, err := New(context.Background(), Options{Config: cfg, DataDir: dir, Builders: []Builder{builderOf(emitter)},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a.Run(context.Background()) // until killed
}

func TestKill9ThenRestartKeepsEveryPersistedAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	printed := map[string]int{}
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it write for a random while, counting what it says it persisted.
		lines := make(chan string, 100000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		kill := time.After(time.Duration(150+rand.IntN(400)) * time.Millisecond)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: child exited early", round)
				}
				printed[strings.TrimPrefix(l, "persisted ")]++
			case <-kill:
				cmd.Process.Kill() // SIGKILL
				break read
			}
		}
		cmd.Wait()
		// Lines already written to the pipe before the kill were persisted too.
		for l := range lines {
			printed[strings.TrimPrefix(l, "persisted ")]++
		}
	}
	if len(printed) == 0 {
		t.Fatal("the child persisted nothing")
	}

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("store does not open after kill -9: %v", err)
	}
	defer db.Close()
	alerts, err := db.ListAlerts(context.Background(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]vigie.Alert{}
	var total int64
	for _, a := range alerts {
		if _, dup := byKey[a.Subject]; dup {
			t.Errorf("alert for %s is duplicated", a.Subject)
		}
		byKey[a.Subject] = a
		total += a.Count
	}
	for key, n := range printed {
		a, ok := byKey[key]
		if !ok {
			t.Errorf("%s was persisted %d times but has no alert after the kills", key, n)
			continue
		}
		// The child may have committed one more finding per key that it
		// was killed before printing; never fewer.
		if a.Count < int64(n) || a.Count > int64(n)+5 {
			t.Errorf("%s: count %d, printed %d", key, a.Count, n)
		}
	}
	// Each counted finding has its own stored row: nothing counted twice.
	var findings int64
	fs, err := db.ListFindings(context.Background(), store.FindingQuery{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	findings = int64(len(fs))
	// The alert and its finding row are two commits: a kill between them
	// leaves a count without its row, at most once per kill.
	if gap := total - findings; gap < 0 || gap > 5 {
		t.Errorf("%d findings stored for a total count of %d", findings, total)
	}
	t.Logf("5 kills: %d alerts, %d findings", len(alerts), findings)
}
