package mailqueue

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigie/vigie/internal/testutil"
)

func TestConfigDirectory(t *testing.T) {
	ctx := context.Background()
	if got := ConfigDirectory(ctx, "/srv/postfix", ""); got != "/srv/postfix" {
		t.Errorf("explicit dir: %q", got)
	}
	// A postconf built with another default is believed.
	fake := filepath.Join(t.TempDir(), "postconf")
	os.WriteFile(fake, []byte("#!/bin/sh\n[ \"$*\" = \"-d -h config_directory\" ] && echo /usr/local/etc/postfix\n"), 0o755)
	if got := ConfigDirectory(ctx, "", fake); got != "/usr/local/etc/postfix" {
		t.Errorf("postconf's default: %q", got)
	}
	// A postconf that fails or prints nonsense: /etc/postfix.
	bad := filepath.Join(t.TempDir(), "postconf")
	os.WriteFile(bad, []byte("#!/bin/sh\necho 'relative/dir'\n"), 0o755)
	if got := ConfigDirectory(ctx, "", bad); got != DefaultConfigDir {
		t.Errorf("nonsense from postconf: %q", got)
	}
	if got := ConfigDirectory(ctx, "", filepath.Join(t.TempDir(), "none")); got != DefaultConfigDir {
		t.Errorf("missing postconf: %q", got)
	}
	// The real one (Debian's Postfix is built with /etc/postfix).
	if testutil.RequireProgram(t, "postconf") != "" {
		if got := ConfigDirectory(ctx, "", ""); got != "/etc/postfix" {
			t.Errorf("Debian's postconf says %q", got)
		}
	}
}
