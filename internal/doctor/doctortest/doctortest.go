// Package doctortest runs a watch's doctor in its tests and checks what
// every doctor must give: checks under the watch's name, a fix for each
// warning and failure.
package doctortest

import (
	"context"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/doctor"
)

// Run runs fn with env and returns its checks by item. It fails the test
// for a check under another watch than watch, and for a warning or a
// failure without a fix.
func Run(t *testing.T, watch string, fn doctor.Func, env doctor.Env) map[string]doctor.Check {
	t.Helper()
	out := map[string]doctor.Check{}
	for _, c := range fn(context.Background(), env) {
		if c.Watch != watch {
			t.Errorf("check %+v not under %s", c, watch)
		}
		if (c.Status == doctor.Fail || c.Status == doctor.Warn) && c.Fix == "" {
			t.Errorf("%s %s gives no fix: %+v", c.Status, c.Item, c)
		}
		out[c.Item] = c
	}
	return out
}

// Want fails the test unless cs has a check of item with status st whose
// finding holds every string of found.
func Want(t *testing.T, cs map[string]doctor.Check, item string, st doctor.Status, found ...string) {
	t.Helper()
	c, ok := cs[item]
	if !ok {
		t.Errorf("no %q check in %+v", item, cs)
		return
	}
	if c.Status != st {
		t.Errorf("%s: %s %q, want %s", item, c.Status, c.Found, st)
	}
	for _, f := range found {
		if !strings.Contains(c.Found, f) {
			t.Errorf("%s: %q lacks %q", item, c.Found, f)
		}
	}
}
