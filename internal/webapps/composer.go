package webapps

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxComposerLock bounds the composer.lock read (real ones are < 2 MiB).
const maxComposerLock = 16 << 20

// composerVersion returns the version composer.lock (in dir or its parent,
// the project root of a web/ docroot) records for the first of names.
func composerVersion(dir string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	for _, base := range []string{dir, filepath.Dir(dir)} {
		f, err := os.Open(filepath.Join(base, "composer.lock"))
		if err != nil {
			continue
		}
		v := lockVersion(io.LimitReader(f, maxComposerLock), names)
		f.Close()
		if v != "" {
			return v
		}
	}
	return ""
}

func lockVersion(r io.Reader, names []string) string {
	var lock struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.NewDecoder(r).Decode(&lock); err != nil {
		return ""
	}
	for _, want := range names {
		for _, p := range lock.Packages {
			if p.Name == want {
				return sanitizeVersion(strings.TrimPrefix(p.Version, "v"))
			}
		}
	}
	return ""
}
