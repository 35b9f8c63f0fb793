package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DataDir decides where vigie keeps its state: the --data flag, else the
// VIGIE_DATA environment variable, else data_dir in the config, else
// $XDG_STATE_HOME/vigie, else ~/.local/state/vigie. The last two are
// writable by the user running vigie, root or not; the systemd unit passes
// --data /var/lib/vigie.
func DataDir(flag string, getenv func(string) string, cfg *Config) (string, error) {
	dir := flag
	if dir == "" {
		dir = getenv("VIGIE_DATA")
	}
	if dir == "" && cfg != nil {
		dir = cfg.DataDir
	}
	if dir == "" {
		if x := getenv("XDG_STATE_HOME"); x != "" {
			dir = filepath.Join(x, "vigie")
		} else if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, ".local", "state", "vigie")
		} else {
			return "", errors.New("no data directory: HOME is not set; pass --data DIR or set VIGIE_DATA")
		}
	}
	return filepath.Abs(dir)
}

// EnsureDataDir creates dir if needed and checks that vigie can write in it.
func EnsureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory %s: cannot create it: %w; choose another with --data DIR or VIGIE_DATA", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s: not writable: %w; fix its permissions or choose another with --data DIR or VIGIE_DATA", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// StorePath is the SQLite file: store.path, or vigie.db in the data directory.
func (c *Config) StorePath(dataDir string) string {
	if c.Store.Path != "" {
		return c.Store.Path
	}
	return filepath.Join(dataDir, "vigie.db")
}
