package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const testToken = "0123456789abcdef0123456789abcdef"

// scrape GETs path on ts as a scraper would, with the given Host and headers.
func scrape(t *testing.T, ts *httptest.Server, path, host string, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

// Behind reverse_proxy, the main listener: who gets /metrics without a session.
func TestMetricsAccessOnTheMainListener(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) { o.Login, o.ReverseProxy, o.MetricsToken = true, true, testToken })
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	for _, c := range []struct {
		name string
		host string
		hdr  map[string]string
		want int
	}{
		{"direct local scraper", "", nil, 200},
		{"direct, Host localhost", "localhost:9760", nil, 200},
		// nginx proxy_pass with proxy_set_header Host $host, without X-Forwarded-For.
		{"proxy passing the public Host", "vigie.example.org", nil, 401},
		{"proxy adding X-Forwarded-For", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 401},
		{"proxy adding X-Real-IP only", "", map[string]string{"X-Real-IP": "203.0.113.9"}, 401},
		{"proxy adding Forwarded only", "", map[string]string{"Forwarded": "for=203.0.113.9"}, 401},
		{"proxy adding Via only", "", map[string]string{"Via": "1.1 nginx"}, 401},
		{"remote scraper with the token", "vigie.example.org", map[string]string{"Authorization": "Bearer " + testToken, "X-Forwarded-For": "198.51.100.4"}, 200},
		{"token, lower-case scheme", "vigie.example.org", map[string]string{"Authorization": "bearer " + testToken, "X-Forwarded-For": "198.51.100.4"}, 200},
		{"wrong token", "vigie.example.org", map[string]string{"Authorization": "Bearer " + testToken[:31] + "0", "X-Forwarded-For": "198.51.100.4"}, 401},
		{"token as basic auth", "vigie.example.org", map[string]string{"Authorization": "Basic " + testToken, "X-Forwarded-For": "198.51.100.4"}, 401},
		{"empty bearer", "vigie.example.org", map[string]string{"Authorization": "Bearer ", "X-Forwarded-For": "198.51.100.4"}, 401},
	} {
		if got := scrape(t, ts, "/metrics", c.host, c.hdr); got != c.want {
			t.Errorf("%s: /metrics = %d, want %d", c.name, got, c.want)
		}
	}
	// The token opens /metrics, nothing else.
	if got := scrape(t, ts, "/api/v1/alerts", "", map[string]string{"Authorization": "Bearer " + testToken}); got != 401 {
		t.Errorf("the metrics token opened the API: %d", got)
	}
}

// Without a token configured, an empty bearer must not match an empty token.
func TestMetricsNoTokenConfigured(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) { o.Login, o.ReverseProxy = true, true })
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	if got := scrape(t, ts, "/metrics", "vigie.example.org", map[string]string{"Authorization": "Bearer "}); got != 401 {
		t.Errorf("empty bearer with no token configured = %d", got)
	}
}

// With http.metrics_listen, the main listener makes no local exception and
// the metrics listener serves /metrics only.
func TestMetricsListener(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) {
		o.Login, o.ReverseProxy, o.MetricsToken, o.MetricsListener = true, true, testToken, true
	})
	main := httptest.NewServer(f.srv.Handler())
	defer main.Close()
	if got := scrape(t, main, "/metrics", "", nil); got != 401 {
		t.Errorf("main listener, direct local scrape with a metrics listener = %d, want 401", got)
	}
	if got := scrape(t, main, "/metrics", "", map[string]string{"Authorization": "Bearer " + testToken}); got != 200 {
		t.Errorf("main listener with the token = %d", got)
	}

	m := httptest.NewServer(f.srv.MetricsHandler())
	defer m.Close()
	if got := scrape(t, m, "/metrics", "", map[string]string{"Authorization": "Bearer " + testToken}); got != 200 {
		t.Errorf("metrics listener with the token = %d", got)
	}
	if got := scrape(t, m, "/metrics", "", nil); got != 401 {
		t.Errorf("metrics listener with a token configured but not sent = %d", got)
	}
	for _, p := range []string{"/", "/api/v1/alerts", "/healthz", "/incidents"} {
		if got := scrape(t, m, p, "", map[string]string{"Authorization": "Bearer " + testToken}); got != 404 {
			t.Errorf("metrics listener serves %s: %d", p, got)
		}
	}

	// A loopback metrics listener without a token: direct local scrapers only.
	g := newFixtureWith(t, func(o *Options) { o.Login, o.MetricsListener = true, true })
	m2 := httptest.NewServer(g.srv.MetricsHandler())
	defer m2.Close()
	if got := scrape(t, m2, "/metrics", "", nil); got != 200 {
		t.Errorf("tokenless loopback metrics listener, direct = %d", got)
	}
	if got := scrape(t, m2, "/metrics", "", map[string]string{"X-Forwarded-For": "203.0.113.9"}); got != 401 {
		t.Errorf("tokenless loopback metrics listener, proxied = %d", got)
	}
}
