package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	h := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// pageTemplate is one page parsed with the layout.
type pageTemplate struct{ t *template.Template }

// Every value from the store reaches the page through html/template's
// contextual escaping; no function here returns template.HTML or another
// trusted type, so hostile text (senders, HELO names, URL paths, TXT
// records, certificate names) can only ever be text.
var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"short": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("01-02 15:04Z")
	},
	"evidence":   sortedEvidence,
	"thousands":  incident.Thousands,
	"dur":        incident.Span,
	"account":    mailAccount,
	"list":       func(s ...string) []string { return s },
	"slug":       func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"pathEscape": url.PathEscape,
	"query": func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		if len(v) == 0 {
			return ""
		}
		return "?" + v.Encode()
	},
	"rangeNav": func(path, cur string) rangeNav {
		return rangeNav{Path: path, Range: cur, Ranges: []string{"hour", "day", "week"}}
	},
	"holdArgs": func(verb, account, csrf string, alertID int64, back string) holdArgs {
		return holdArgs{Verb: verb, Account: account, CSRF: csrf, AlertID: alertID, Back: back}
	},
	"truncate": func(n int, s string) string {
		if len(s) <= n {
			return s
		}
		r := []rune(s)
		if len(r) <= n {
			return s
		}
		return string(r[:n]) + "…"
	},
}

func mustParsePages() map[string]*pageTemplate {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		partials, _ := fs.Glob(templateFS, "templates/_*.html")
		files := append([]string{"templates/layout.html", n}, partials...)
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, files...))
		out[base] = &pageTemplate{t: t}
	}
	return out
}

type kv struct{ K, V string }

type rangeNav struct {
	Path, Range string
	Ranges      []string
}

type holdArgs struct {
	Verb, Account, CSRF string
	AlertID             int64
	Back                string
}

func sortedEvidence(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// layoutView is what the layout sees around a page's own data.
type layoutView struct {
	Page    string
	Title   string
	User    string
	CSRF    string
	Login   bool
	Watches []string
	Path    string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any, p principal) {
	pt := s.pages[page]
	var buf bytes.Buffer
	v := layoutView{Page: page, User: p.user, CSRF: p.csrf, Login: s.o.Login, Watches: s.o.Watches, Path: r.URL.Path, Data: data}
	if t, ok := data.(interface{ title() string }); ok {
		v.Title = t.title()
	}
	if err := pt.t.Execute(&buf, v); err != nil {
		s.log.Error("rendering a page", "page", page, "err", err)
		http.Error(w, "cannot render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// dataFunc builds what one page shows; the page renders it as HTML and the
// API under /api/v1 returns the very same value as JSON.
type dataFunc func(r *http.Request) (any, error)

// httpError is an error with the status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *Server) errorStatus(err error, what string) (int, string) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, what + " not found"
	default:
		s.log.Error("serving "+what, "err", err)
		return http.StatusInternalServerError, "cannot read " + what + " from the store"
	}
}

type errorView struct {
	Status  int
	Message string
}

func (e errorView) title() string { return http.StatusText(e.Status) }

func (s *Server) page(name string, data dataFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := data(r)
		p := principalOf(r.Context())
		if err != nil {
			status, msg := s.errorStatus(err, name)
			s.render(w, r, status, "error", errorView{status, msg}, p)
			return
		}
		s.render(w, r, http.StatusOK, name, v, p)
	})
}

func (s *Server) api(data dataFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := data(r)
		if err != nil {
			status, msg := s.errorStatus(err, "data")
			writeError(w, status, msg)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}
