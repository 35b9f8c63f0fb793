package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFailedAndSummary(t *testing.T) {
	cs := []Check{{Watch: Self, Item: "configuration", Status: OK}, {Watch: "mail", Item: "mail log", Status: Off},
		{Watch: Notifier, Item: "notifier log", Status: OK}}
	if !Failed(cs) {
		t.Error("nothing watched must fail")
	}
	if s := Summary(cs); s != "vigie would watch: nothing; not: mail" {
		t.Errorf("summary %q", s)
	}
	cs = append(cs, Check{Watch: "web", Item: "web roots", Status: OK}, Check{Watch: "web", Item: "access logs", Status: Off})
	if Failed(cs) {
		t.Error("a watch runs and nothing failed")
	}
	if s := Summary(cs); s != "vigie would watch: web; not: mail" {
		t.Errorf("summary %q", s)
	}
	cs = append(cs, Check{Watch: "ct", Item: "log x", Status: Fail})
	if !Failed(cs) || !strings.HasSuffix(Summary(cs), "; 1 problem(s) to fix") {
		t.Errorf("a failure: %v %q", Failed(cs), Summary(cs))
	}
}

func TestCanRead(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make files owned by others")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	f := filepath.Join(dir, "mail.log")
	os.WriteFile(f, []byte("x"), 0o640)
	os.Chown(f, 0, 4) // root:adm, as Debian's mail.log
	nobody := Account{Name: "nobody", UID: 65534, Groups: []int{65534}}
	if err := nobody.CanRead(f); err == nil || !strings.Contains(err.Error(), "is not readable by the nobody user") {
		t.Errorf("nobody reads a 0640 root:adm file: %v", err)
	}
	inAdm := Account{Name: "vigie", UID: 998, Groups: []int{998, 4}}
	if err := inAdm.CanRead(f); err != nil {
		t.Errorf("a member of adm: %v", err)
	}
	if err := (Account{UID: 0}).CanRead(f); err != nil {
		t.Errorf("root: %v", err)
	}
	os.Chmod(dir, 0o700)
	if err := inAdm.CanRead(dir); err == nil {
		t.Error("a 0700 root directory listed by another user")
	}
}

// CanWrite: the data directory as the package makes it (vigie:vigie
// 0750) is writable by vigie; one left to root is not.
func TestCanWrite(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make directories owned by others")
	}
	dir := t.TempDir()
	vigie := Account{Name: "vigie", UID: 64998, Groups: []int{64998}}
	os.Chown(dir, 64998, 64998)
	os.Chmod(dir, 0o750)
	if err := vigie.CanWrite(dir); err != nil {
		t.Errorf("vigie:vigie 0750: %v", err)
	}
	os.Chown(dir, 0, 0)
	os.Chmod(dir, 0o755)
	if err := vigie.CanWrite(dir); err == nil || !strings.Contains(err.Error(), "is not writable by the vigie user") {
		t.Errorf("root:root 0755: %v", err)
	}
	os.Chown(dir, 0, 64998)
	os.Chmod(dir, 0o770)
	if err := vigie.CanWrite(dir); err != nil {
		t.Errorf("root:vigie 0770: %v", err)
	}
}
