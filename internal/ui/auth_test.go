package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfFrom(t testing.TB, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in %s", body)
	}
	return m[1]
}

// loginForm logs c in through the HTML form and returns the response.
func loginWith(t testing.TB, c *http.Client, base, user, password, code string) resp {
	t.Helper()
	page := do(t, c, "GET", base+"/login", "", nil)
	return do(t, c, "POST", base+"/login", form("user", user, "password", password, "code", code, "csrf", csrfFrom(t, page.body), "next", "/incidents"),
		map[string]string{"Origin": base})
}

func addUser(t testing.TB, f *fixture, name string) User {
	t.Helper()
	u, err := f.users.Add(context.Background(), name, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func code(t testing.TB, u User, at time.Time) string {
	t.Helper()
	c, err := TOTPCode(u.TOTPSecret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoginRequiresPasswordAndFreshTOTP(t *testing.T) {
	f := newFixture(t, true)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	u := addUser(t, f, "alice")
	c := newClient(t)

	if r := do(t, c, "GET", ts.URL+"/incidents", "", nil); r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/login?next=%2Fincidents" {
		t.Fatalf("unauthenticated page = %d %s", r.code, r.hdr.Get("Location"))
	}
	if r := do(t, c, "GET", ts.URL+"/api/v1/alerts", "", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("unauthenticated API = %d", r.code)
	}
	if r := loginWith(t, c, ts.URL, "alice", "correct horse battery", "000000"); r.code != http.StatusUnauthorized || !strings.Contains(r.body, "wrong user name, password or code") {
		t.Fatalf("wrong code = %d", r.code)
	}
	if r := loginWith(t, c, ts.URL, "alice", "wrong", code(t, u, f.clock.Now())); r.code != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d", r.code)
	}
	good := code(t, u, f.clock.Now())
	r := loginWith(t, c, ts.URL, "alice", "correct horse battery", good)
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/incidents" {
		t.Fatalf("login = %d %s %s", r.code, r.hdr.Get("Location"), r.body)
	}
	setCookie := r.hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("session cookie %q lacks %s", setCookie, want)
		}
	}
	if r := do(t, c, "GET", ts.URL+"/incidents", "", nil); r.code != 200 {
		t.Fatalf("after login = %d", r.code)
	}

	// The same code again, from another browser: refused (replay).
	other := newClient(t)
	if r := loginWith(t, other, ts.URL, "alice", "correct horse battery", good); r.code != http.StatusUnauthorized {
		t.Fatalf("replayed TOTP code = %d, want 401", r.code)
	}
	// A code of the next step works.
	f.clock.Add(30 * time.Second)
	if r := loginWith(t, other, ts.URL, "alice", "correct horse battery", code(t, u, f.clock.Now())); r.code != http.StatusSeeOther {
		t.Fatalf("next step's code = %d", r.code)
	}

	// Logout ends the session.
	sess := do(t, c, "GET", ts.URL+"/api/v1/session", "", nil)
	var sv sessionView
	json.Unmarshal([]byte(sess.body), &sv)
	if sv.User != "alice" || sv.CSRFToken == "" || !sv.LoginRequired {
		t.Fatalf("session = %s", sess.body)
	}
	if r := do(t, c, "POST", ts.URL+"/logout", form("csrf", sv.CSRFToken), map[string]string{"Origin": ts.URL}); r.code != http.StatusSeeOther {
		t.Fatalf("logout = %d %s", r.code, r.body)
	}
	if r := do(t, c, "GET", ts.URL+"/api/v1/session", "", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("after logout = %d", r.code)
	}
}

func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t, true)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	u := addUser(t, f, "bob")
	c := newClient(t)
	for i := range loginMaxFailures {
		if r := loginWith(t, c, ts.URL, "bob", "guess number "+string(rune('a'+i)), "123456"); r.code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i, r.code)
		}
	}
	r := loginWith(t, c, ts.URL, "bob", "correct horse battery", code(t, u, f.clock.Now()))
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("good password while locked = %d, want 429 with Retry-After", r.code)
	}
	// The API login shares the limit.
	body := `{"user":"bob","password":"correct horse battery","code":"` + code(t, u, f.clock.Now()) + `"}`
	if r := do(t, c, "POST", ts.URL+"/api/v1/login", body, map[string]string{"Content-Type": "application/json"}); r.code != http.StatusTooManyRequests {
		t.Fatalf("API login while locked = %d", r.code)
	}
	f.clock.Add(loginWindow + time.Minute)
	if r := do(t, c, "POST", ts.URL+"/api/v1/login", `{"user":"bob","password":"correct horse battery","code":"`+code(t, u, f.clock.Now())+`"}`,
		map[string]string{"Content-Type": "application/json"}); r.code != 200 || !strings.Contains(r.body, "csrf_token") {
		t.Fatalf("API login after the window = %d %s", r.code, r.body)
	}
	entries, _ := f.srv.o.Store.ListAudit(context.Background(), auditQuery("bob"))
	refused := 0
	for _, e := range entries {
		if e.Action == "user.login" && e.Result == "refused" {
			refused++
		}
	}
	if refused != loginMaxFailures {
		t.Errorf("audit has %d refused logins, want %d", refused, loginMaxFailures)
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	f := newFixture(t, true)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	u := addUser(t, f, "carol")
	c := newClient(t)
	// No login cookie and no token: a page elsewhere posting a login form.
	r := do(t, c, "POST", ts.URL+"/login", form("user", "carol", "password", "correct horse battery", "code", code(t, u, f.clock.Now())), nil)
	if r.code != http.StatusForbidden {
		t.Fatalf("login without its token = %d", r.code)
	}
	r = do(t, c, "POST", ts.URL+"/login", form("user", "carol"), map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if r.code != http.StatusForbidden {
		t.Fatalf("cross-origin login = %d", r.code)
	}
	if r := do(t, c, "POST", ts.URL+"/api/v1/login", form("user", "carol"), nil); r.code != http.StatusUnsupportedMediaType {
		t.Fatalf("form-encoded API login = %d", r.code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/incidents/3": "/incidents/3", "": "/", "//evil.example/": "/", "/\\evil.example": "/",
		"https://evil.example": "/", "javascript:alert(1)": "/", "/a\r\nSet-Cookie: x": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	u := &Users{Params: cheapArgon2}
	h, err := u.hash("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash = %q, %v", h, err)
	}
	if !checkPassword(h, "correct horse battery") || checkPassword(h, "correct horse batterx") || checkPassword("garbage", "x") {
		t.Error("checkPassword is wrong")
	}
	if _, err := u.hash("short"); err == nil {
		t.Error("short password accepted")
	}
	if checkPassword("$argon2id$v=19$m=999999999,t=1,p=1$AAAA$AAAA", "x") {
		t.Error("absurd costs accepted")
	}
}

func TestMetricsForALocalScraperOnly(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) { o.Login, o.ReverseProxy = true, true })
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	c := newClient(t)
	if r := do(t, c, "GET", ts.URL+"/metrics", "", nil); r.code != 200 {
		t.Errorf("local scrape = %d", r.code)
	}
	if r := do(t, c, "GET", ts.URL+"/metrics", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}); r.code != http.StatusUnauthorized {
		t.Errorf("scrape through the proxy = %d, want 401", r.code)
	}
	if r := do(t, c, "GET", ts.URL+"/api/v1/alerts", "", nil); r.code != http.StatusUnauthorized {
		t.Errorf("API from loopback without login = %d", r.code)
	}
}
