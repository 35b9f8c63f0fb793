package ct_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// objectStore is the S3 bucket Sunlight writes its tiles and checkpoint
// to, and which monitors read them from (Sunlight serves only the write
// path). Sunlight v0.3.1 has no local-filesystem backend, so the test
// gives it this path-style PUT/GET store on loopback, keeping each
// object's Content-Encoding as S3 does.
type objectStore struct {
	mu      sync.Mutex
	objects map[string]object
	// tamper makes GETs of data tiles serve one flipped certificate byte.
	tamper atomic.Bool
}

type object struct {
	data     []byte
	encoding string
}

func newObjectStore() *objectStore { return &objectStore{objects: map[string]object{}} }

func (s *objectStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.mu.Lock()
		s.objects[key] = object{body, r.Header.Get("Content-Encoding")}
		s.mu.Unlock()
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		o, ok := s.objects[key]
		s.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>`)
			return
		}
		data := o.data
		if s.tamper.Load() && strings.Contains(key, "/tile/data/") {
			if o.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err == nil {
					data, _ = io.ReadAll(zr)
				}
				o.encoding = ""
			}
			data = append([]byte(nil), data...)
			if len(data) > 300 {
				data[300] ^= 0x01 // inside the first certificate
			}
		}
		if o.encoding != "" {
			w.Header().Set("Content-Encoding", o.encoding)
		}
		w.Write(data)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
