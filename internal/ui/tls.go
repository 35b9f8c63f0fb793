package ui

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSConfig serves the certificate in certFile and keyFile and picks up a
// renewed pair (certbot, acme.sh) without a restart: the files are checked
// at most once a minute and a pair that does not load is ignored in
// favour of the one already served.
func TLSConfig(certFile, keyFile string, now func() time.Time) (*tls.Config, error) {
	if now == nil {
		now = time.Now
	}
	r := &certReloader{cert: certFile, key: keyFile, now: now}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get, NextProtos: []string{"h2", "http/1.1"}}, nil
}

type certReloader struct {
	cert, key string
	now       func() time.Time

	mu      sync.Mutex
	current *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (r *certReloader) load() error {
	c, err := tls.LoadX509KeyPair(r.cert, r.key)
	if err != nil {
		return fmt.Errorf("http: loading the TLS certificate %s and key %s: %w", r.cert, r.key, err)
	}
	fi, err := os.Stat(r.cert)
	if err != nil {
		return err
	}
	r.current, r.modTime = &c, fi.ModTime()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) > time.Minute {
		r.checked = now
		if fi, err := os.Stat(r.cert); err == nil && !fi.ModTime().Equal(r.modTime) {
			old := r.current
			if err := r.load(); err != nil {
				r.current = old
			}
		}
	}
	return r.current, nil
}
