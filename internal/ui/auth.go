package ui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
)

// Two modes. Without Login (loopback, no TLS) every request is the local
// user "local": whoever can reach 127.0.0.1 already has a shell here. Even
// then, state-changing requests need the CSRF token and a same-origin
// Origin, and the Host must be a loopback name, so that a web page the
// admin visits cannot post to the dashboard or rebind a name to it.
// With Login, each request needs a session made by a password and a TOTP
// code.

// localActor is who acts when no login is required.
const localActor = "local"

type ctxKey int

const principalKey ctxKey = 0

type principal struct {
	user string
	csrf string
}

func principalOf(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey).(principal)
	return p
}

func (s *Server) cookieName(base string) string {
	if s.o.SecureCookies {
		// __Host-: Secure, Path=/, no Domain, so a sibling host cannot
		// plant or read it.
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		Secure: s.o.SecureCookies, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// localCSRF is the CSRF token of the no-login mode: derived from a key
// made at start, so a page on another origin cannot know it.
func (s *Server) localCSRF() string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf:" + localActor))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authenticate finds who makes the request; ok false means nobody.
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	if !s.o.Login {
		return principal{user: localActor, csrf: s.localCSRF()}, true
	}
	ss := s.sessions.get(s.cookie(r, "vigie_session"))
	if ss == nil {
		return principal{}, false
	}
	return principal{user: ss.user, csrf: ss.csrf}, true
}

// guard wraps every route but the login page, static files and /healthz.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.o.Login && !loopbackHost(r.Host) {
			http.Error(w, "this dashboard answers to a loopback host name only (127.0.0.1, [::1], localhost)", http.StatusMisdirectedRequest)
			return
		}
		p, ok := s.authenticate(r)
		if !ok {
			if isAPI(r) || r.Method != http.MethodGet || r.URL.Path == "/metrics" {
				writeError(w, http.StatusUnauthorized, "log in first: POST /api/v1/login")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.checkCSRF(r, p.csrf); err != nil {
				s.log.Warn("refused a state-changing request", "path", r.URL.Path, "user", p.user, "err", err)
				writeError(w, http.StatusForbidden, err.Error())
				return
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// checkCSRF refuses cross-origin requests (Origin and Sec-Fetch-Site, as
// browsers send them) and requests without the session's token.
func (s *Server) checkCSRF(r *http.Request, want string) error {
	if err := s.origin.Check(r); err != nil {
		return fmt.Errorf("cross-origin request refused: %v", err)
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && !isJSON(r) {
		got = r.PostFormValue("csrf")
	}
	if got == "" {
		return errors.New("missing CSRF token: send the form's csrf field or the X-CSRF-Token header (GET /api/v1/session gives it)")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errors.New("wrong CSRF token: reload the page")
	}
	return nil
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	// A zone ("::1%0") has no place in a Host header: such a name was
	// written by hand, not by a browser or Prometheus.
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// clientIP is the address rate limits count by: the peer, or behind the
// reverse proxy the last address it appended to X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	if s.o.ReverseProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errLogin is the one answer to a failed login, whichever part was wrong.
var errLogin = errors.New("wrong user name, password or code")

type loginError struct {
	status int
	err    error
	retry  int // seconds, for 429
}

// login checks the credentials and starts a session.
func (s *Server) login(ctx context.Context, ip, name, password, code string) (string, *session, *loginError) {
	name = strings.TrimSpace(name)
	keys := []string{"ip:" + ip}
	if len(name) <= 64 {
		keys = append(keys, "user:"+name)
	}
	for _, k := range keys {
		if d := s.limiter.wait(k); d > 0 {
			return "", nil, &loginError{http.StatusTooManyRequests,
				fmt.Errorf("too many failed logins: try again in %d s", int(math.Ceil(d.Seconds()))), int(math.Ceil(d.Seconds()))}
		}
	}
	fail := func(why string) (string, *session, *loginError) {
		for _, k := range keys {
			s.limiter.fail(k)
		}
		s.audit(ctx, name, "user.login", ip, why, "refused")
		return "", nil, &loginError{status: http.StatusUnauthorized, err: errLogin}
	}
	// At most two argon2 hashes at a time: 46 MiB each.
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return "", nil, &loginError{status: http.StatusServiceUnavailable, err: ctx.Err()}
	}
	u, err := s.users.Get(ctx, name)
	hash := u.Hash
	if err != nil {
		hash = dummyHash
	}
	good := checkPassword(hash, password)
	<-s.hashSlots
	if errors.Is(err, ErrNoUser) {
		return fail("no such user")
	}
	if err != nil {
		s.log.Error("reading a user", "err", err)
		return "", nil, &loginError{status: http.StatusInternalServerError, err: errors.New("cannot read users from the store")}
	}
	if !good {
		return fail("wrong password")
	}
	step, ok := verifyTOTP(u.TOTPSecret, strings.TrimSpace(code), s.o.Now(), u.LastTOTPStep)
	if !ok {
		return fail("wrong or reused TOTP code")
	}
	if fresh, err := s.users.useTOTPStep(ctx, name, step); err != nil || !fresh {
		return fail("TOTP code reused")
	}
	for _, k := range keys {
		s.limiter.success(k)
	}
	tok, ss := s.sessions.create(name)
	s.audit(ctx, name, "user.login", ip, "", "ok")
	return tok, ss, nil
}

func (s *Server) audit(ctx context.Context, actor, action, target, detail, result string) {
	if _, err := s.o.Store.AddAudit(ctx, vigie.AuditEntry{Time: s.o.Now().UTC(), Actor: actor, Action: action,
		Target: target, Detail: detail, Result: result}); err != nil {
		s.log.Error("writing the audit log", "action", action, "err", err)
	}
}

// loginPage serves GET /login.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if !s.o.Login {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// Login CSRF: the form carries a token that must match a cookie only
	// this origin could have set. An existing one is kept, so that a second
	// tab (or a stray request redirected here) does not void the first.
	tok := s.cookie(r, "vigie_login")
	if len(tok) != 43 {
		tok = randomToken()
	}
	s.setCookie(w, "vigie_login", tok, 600)
	s.render(w, r, status, "login", loginView{Next: safeNext(r.FormValue("next")), Error: msg}, principal{csrf: tok})
}

type loginView struct {
	Next  string
	Error string
}

// loginForm serves POST /login.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if !s.o.Login {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := s.origin.Check(r); err != nil {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	want := s.cookie(r, "vigie_login")
	if want == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		s.renderLogin(w, r, http.StatusForbidden, "The login form expired: try again.")
		return
	}
	tok, _, lerr := s.login(r.Context(), s.clientIP(r), r.PostFormValue("user"), r.PostFormValue("password"), r.PostFormValue("code"))
	if lerr != nil {
		if lerr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(lerr.retry))
		}
		s.renderLogin(w, r, lerr.status, lerr.err.Error())
		return
	}
	s.setCookie(w, "vigie_login", "", -1)
	s.setCookie(w, "vigie_session", tok, int(s.o.SessionLifetime.Seconds()))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// apiLogin serves POST /api/v1/login {"user","password","code"}: it sets
// the session cookie and returns the CSRF token for later requests.
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	if !s.o.Login {
		writeJSON(w, http.StatusOK, sessionView{User: localActor, CSRFToken: s.localCSRF()})
		return
	}
	// JSON only: a cross-origin page cannot send it without a preflight.
	if !isJSON(r) {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json")
		return
	}
	if err := s.origin.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	var in struct{ User, Password, Code string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "expected {\"user\": ..., \"password\": ..., \"code\": ...}")
		return
	}
	tok, ss, lerr := s.login(r.Context(), s.clientIP(r), in.User, in.Password, in.Code)
	if lerr != nil {
		if lerr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(lerr.retry))
		}
		writeError(w, lerr.status, lerr.err.Error())
		return
	}
	s.setCookie(w, "vigie_session", tok, int(s.o.SessionLifetime.Seconds()))
	writeJSON(w, http.StatusOK, sessionView{User: ss.user, CSRFToken: ss.csrf, LoginRequired: true})
}

type sessionView struct {
	User          string `json:"user"`
	CSRFToken     string `json:"csrf_token"`
	LoginRequired bool   `json:"login_required"`
}

// logout serves POST /logout and /api/v1/logout (guarded: CSRF checked).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if s.o.Login {
		s.sessions.delete(s.cookie(r, "vigie_session"))
		s.setCookie(w, "vigie_session", "", -1)
		s.audit(r.Context(), p.user, "user.logout", s.clientIP(r), "", "ok")
	}
	if isAPI(r) {
		writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	writeJSON(w, http.StatusOK, sessionView{User: p.user, CSRFToken: p.csrf, LoginRequired: s.o.Login})
}

// safeNext keeps redirects on this site: a path, not //host or /\host.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
