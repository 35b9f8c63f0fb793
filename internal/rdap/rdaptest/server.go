// Package rdaptest runs an RDAP server on loopback for tests: RFC 9083
// domain objects shaped like a thick gTLD registry's (Verisign's answers
// for .com: RDAP status strings, jCard registrar with its IANA ID and an
// abuse contact, events, secureDNS, nameserver objects), 404 error
// objects, and 429 with Retry-After when asked to throttle.
package rdaptest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Registration is one domain as the registry holds it.
type Registration struct {
	Status      []string // RDAP form: "client transfer prohibited"
	Expires     time.Time
	Registrar   string
	IANAID      string
	Nameservers []string // "NS1.EXAMPLE.NET" as registries write them
}

// Server is the running RDAP server.
type Server struct {
	URL string // base URL, ending in "/"
	srv *httptest.Server

	mu       sync.Mutex
	domains  map[string]Registration // lower case, no trailing dot
	requests int
	throttle int // the next n requests get 429
}

// Start runs the server on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{domains: map[string]Registration{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/rdap/"
	return s
}

// Set registers or changes a domain.
func (s *Server) Set(domain string, r Registration) {
	s.mu.Lock()
	s.domains[strings.TrimSuffix(strings.ToLower(domain), ".")] = r
	s.mu.Unlock()
}

// Delete removes a domain (the registry then answers 404).
func (s *Server) Delete(domain string) {
	s.mu.Lock()
	delete(s.domains, strings.TrimSuffix(strings.ToLower(domain), "."))
	s.mu.Unlock()
}

// Throttle makes the next n requests answer 429 Too Many Requests.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = n
	s.mu.Unlock()
}

// Requests is how many requests the server got.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Bootstrap is an RFC 9224 file sending tlds to this server.
func (s *Server) Bootstrap(tlds ...string) []byte {
	b, _ := json.Marshal(map[string]any{"version": "1.0", "publication": time.Now().UTC().Format(time.RFC3339),
		"description": "test", "services": [][][]string{{tlds, {s.URL}}}})
	return b
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	if s.throttle > 0 {
		s.throttle--
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/rdap+json")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"errorCode": 429, "title": "Too Many Requests"})
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/rdap/domain/")
	reg, found := s.domains[strings.ToLower(name)]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/rdap+json")
	if !ok || !found {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"rdapConformance": []string{"rdap_level_0"}, "errorCode": 404, "title": "Not Found",
			"description": []string{"The requested domain was not found in the registry database."}})
		return
	}
	upper := strings.ToUpper(name)
	var ns []any
	for _, n := range reg.Nameservers {
		ns = append(ns, map[string]any{"objectClassName": "nameserver", "ldhName": n})
	}
	obj := map[string]any{
		"objectClassName": "domain",
		"handle":          fmt.Sprintf("%d_DOMAIN_COM-VRSN", len(name)*7919),
		"ldhName":         upper,
		"links": []any{map[string]any{"value": s.URL + "domain/" + upper, "rel": "self",
			"href": s.URL + "domain/" + upper, "type": "application/rdap+json"}},
		"status": reg.Status,
		"entities": []any{map[string]any{
			"objectClassName": "entity", "handle": reg.IANAID, "roles": []string{"registrar"},
			"publicIds":  []any{map[string]any{"type": "IANA Registrar ID", "identifier": reg.IANAID}},
			"vcardArray": []any{"vcard", []any{[]any{"version", map[string]any{}, "text", "4.0"}, []any{"fn", map[string]any{}, "text", reg.Registrar}}},
			"entities": []any{map[string]any{"objectClassName": "entity", "roles": []string{"abuse"},
				"vcardArray": []any{"vcard", []any{[]any{"version", map[string]any{}, "text", "4.0"}, []any{"fn", map[string]any{}, "text", ""},
					[]any{"tel", map[string]any{"type": "voice"}, "uri", "tel:+1.2086851750"}, []any{"email", map[string]any{}, "text", "abusecomplaints@example.com"}}}}},
		}},
		"events": []any{
			map[string]any{"eventAction": "registration", "eventDate": "1997-09-15T04:00:00Z"},
			map[string]any{"eventAction": "expiration", "eventDate": reg.Expires.UTC().Format(time.RFC3339)},
			map[string]any{"eventAction": "last update of RDAP database", "eventDate": time.Now().UTC().Format(time.RFC3339)},
		},
		"secureDNS":       map[string]any{"delegationSigned": false},
		"nameservers":     ns,
		"rdapConformance": []string{"rdap_level_0", "icann_rdap_technical_implementation_guide_0", "icann_rdap_response_profile_0"},
		"notices": []any{map[string]any{"title": "Terms of Use", "description": []string{"Service subject to Terms of Use."},
			"links": []any{map[string]any{"href": "https://www.verisign.com/domain-names/registration-data-access-protocol/terms-service/index.xhtml", "type": "text/html"}}}},
	}
	json.NewEncoder(w).Encode(obj)
}
