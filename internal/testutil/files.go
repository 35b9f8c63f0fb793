package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyTree copies the directory tree src into dst (created as needed), its
// directories 0755 and its files perm: tests of scanners that judge file
// modes say which mode they want. Any error fails the test.
func CopyTree(t testing.TB, src, dst string, perm os.FileMode) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, perm)
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}
