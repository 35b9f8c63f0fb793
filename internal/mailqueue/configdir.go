package mailqueue

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultConfigDir is where Postfix keeps main.cf when nothing says
// otherwise, and the answer when postconf cannot be asked.
const DefaultConfigDir = "/etc/postfix"

// ConfigDirectory is Postfix's configuration directory: dir
// (postfix.config_dir) when set, else what `postconf -d -h
// config_directory` says (a Postfix built with another default), else
// /etc/postfix. postconf is the program; empty: postconf in PATH or
// /usr/sbin.
func ConfigDirectory(ctx context.Context, dir, postconf string) string {
	if dir != "" {
		return dir
	}
	if postconf == "" {
		postconf = findPostconf()
	}
	if postconf == "" {
		return DefaultConfigDir
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, postconf, "-d", "-h", "config_directory").Output()
	if d := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(d) && !strings.ContainsAny(d, "\n$") {
		return d
	}
	return DefaultConfigDir
}

func findPostconf() string {
	if p, err := exec.LookPath("postconf"); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/sbin/postconf"); err == nil {
		return p
	}
	return ""
}
