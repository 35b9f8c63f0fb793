package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// The dashboard's hold goes through the policy server's audited actions:
// the account is suspended (so the policy server holds its new mail), its
// queue is searched, and both steps are in the audit log as the user.
// The queue tools here are a postqueue that prints an empty queue; the
// policy package's tests drive the real Postfix.
func TestDashboardHoldSuspendsAndAudits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	postqueue := filepath.Join(dir, "postqueue")
	os.WriteFile(postqueue, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	cfg := config.Default()
	cfg.Policy.Postfix.Postqueue = []string{postqueue}
	cfg.Mail.Source = "journal" // no mail log to read here
	m := newMailActions(cfg, db)

	if err := m.Hold(ctx, "dora", "marie@club.example", 0); err != nil {
		t.Fatal(err)
	}
	held, err := m.Held(ctx)
	if err != nil || len(held) != 1 || held[0] != "marie@club.example" {
		t.Fatalf("held = %v, %v", held, err)
	}
	if err := m.Release(ctx, "dora", "marie@club.example", 0); err != nil {
		t.Fatal(err)
	}
	if held, _ := m.Held(ctx); len(held) != 0 {
		t.Errorf("still held after release: %v", held)
	}
	audit, _ := db.ListAudit(ctx, store.AuditQuery{Actor: "dora"})
	var got []string
	for i := len(audit) - 1; i >= 0; i-- {
		got = append(got, audit[i].Action+":"+audit[i].Result)
	}
	if want := "mail.suspend:ok mail.hold:ok mail.resume:ok mail.release:ok"; strings.Join(got, " ") != want {
		t.Errorf("audit = %v, want %s", got, want)
	}
}
