// Package pgtest runs a real PostgreSQL server for tests: a cluster made
// with initdb in a temporary directory, listening on 127.0.0.1 on a free
// port and on a Unix socket in that directory, stopped when the test
// package ends. One server is shared by a test package (TestMain) and each
// test gets its own database, which is much quicker than a server per test.
//
//	var pg pgtest.Shared
//	func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }
//	func TestX(t *testing.T) { dsn := pg.Database(t) ... }
//
// When PostgreSQL is not installed, Database skips the test (fails it under
// `make test`, like testutil.RequireProgram).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/testutil"
)

// BinDir returns the directory holding initdb and postgres: the newest
// /usr/lib/postgresql/N/bin (Debian), else the directory of initdb in PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or PATH)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Server is one running PostgreSQL cluster.
type Server struct {
	Dir    string // the temporary directory holding data/ and the socket
	Port   int
	binDir string
	cred   *syscall.Credential // the postgres user when we are root
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	log    *os.File
	dbs    atomic.Int64
}

// Start makes a new cluster and starts it.
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigie-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, binDir: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: run them as the
		// postgres system user the Debian package creates.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	out, err := s.command("initdb", "-D", s.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-locale", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// Another test package may take the free port before postgres binds
	// it: then try another.
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		err = s.Restart(context.Background())
		if err == nil {
			return s, nil
		}
		s.Stop()
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

func (s *Server) command(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.binDir, program), args...)
	cmd.Dir = s.Dir
	cmd.Env = []string{"LANG=C", "PATH=/usr/bin:/bin"}
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// Restart starts the server if it is stopped (after Stop or Kill), on the
// same port and data, and waits until it accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(os.TempDir(), filepath.Base(s.Dir)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// fsync=off: tests need no durability against power loss; commits
	// still reach the kernel before they are acknowledged, so a killed
	// server loses nothing acknowledged.
	cmd := s.command("postgres", "-D", s.dataDir(), "-p", strconv.Itoa(s.Port), "-h", "127.0.0.1", "-k", s.Dir,
		"-c", "fsync=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.cmd, s.done, s.log = cmd, done, logf
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			log, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("postgres exited at start: %s", log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 30s: %w", err)
		}
	}
}

// Stop shuts the server down the fast way (open sessions are cut, the data
// is checkpointed) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGINT) }

// Kill stops the server as a crash would (immediate shutdown: no
// checkpoint; the next start replays the WAL).
func (s *Server) Kill() { s.signal(syscall.SIGQUIT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.Dir)
	os.Remove(filepath.Join(os.TempDir(), filepath.Base(s.Dir)+".log"))
}

// dsn is the URL of database db over TCP on loopback.
func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// SocketDSN is the keyword/value DSN of database db over the Unix socket.
func (s *Server) SocketDSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", s.Dir, s.Port, db)
}

// CreateDatabase creates a new empty database and returns its DSN (TCP on
// 127.0.0.1).
func (s *Server) CreateDatabase(ctx context.Context) (name, dsn string, err error) {
	name = fmt.Sprintf("test_%d_%d", os.Getpid(), s.dbs.Add(1))
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return "", "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, s.dsn(name), nil
}

// DropDatabase drops a database, cutting its sessions.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Database creates a database for test t, dropped at its end, and returns
// its DSN.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, dsn, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return dsn
}

// Shared is one server for a whole test package, started lazily by the
// first test that needs it and stopped by Main.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs the package's tests and stops the server after them.
func (sh *Shared) Main(m *testing.M) int {
	code := m.Run()
	if sh.srv != nil {
		sh.srv.Close()
	}
	return code
}

// Server returns the shared server, starting it on first use; it skips t
// (fails it under `make test`) when PostgreSQL is not installed.
func (sh *Shared) Server(t testing.TB) *Server {
	t.Helper()
	if _, err := BinDir(); err != nil {
		testutil.RequireProgram(t, "initdb")
	}
	sh.once.Do(func() { sh.srv, sh.err = Start() })
	if sh.err != nil {
		t.Fatalf("starting PostgreSQL: %v", sh.err)
	}
	return sh.srv
}

// Database returns the DSN of a new database on the shared server.
func (sh *Shared) Database(t testing.TB) string {
	t.Helper()
	return sh.Server(t).Database(t)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Require starts a server for test t alone, stopped at its end: for a
// package that cannot have its own TestMain, or a test that restarts the
// server.
func Require(t testing.TB) *Server {
	t.Helper()
	if _, err := BinDir(); err != nil {
		testutil.RequireProgram(t, "initdb")
	}
	s, err := Start()
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
