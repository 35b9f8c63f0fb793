package cttest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/vigie/vigie/internal/ct"
)

// Corpus makes the benchmark's data: a log of n entries, one in every
// watchedEvery for a watched domain, half of them precertificates (as in
// real logs), with one to four names each; and the names of a registrar's
// domains.
type Corpus struct {
	rnd *rand.Rand
}

// NewCorpus is deterministic for a seed.
func NewCorpus(seed uint64) *Corpus {
	return &Corpus{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var tlds = []string{"fr", "com", "net", "org", "de", "eu", "io", "be", "ch", "it", "es", "co.uk", "nl", "info", "biz"}

// Domain is the i-th watched domain (the same for every corpus).
func Domain(i int) string {
	return fmt.Sprintf("client%07d-site.%s", i, tlds[i%len(tlds)])
}

// WriteWatchlist writes n watched domains, in the DNS inventory's format
// ("domain ns1,ns2").
func WriteWatchlist(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, "%s ns1.registrar.example,ns2.registrar.example\n", Domain(i))
	}
	return bw.Flush()
}

// Fill adds n entries to l; names of watched certificates are taken among
// the first domains watched domains. It returns how many certificates
// (a precertificate and its certificate count once) are for watched names.
func (c *Corpus) Fill(l *Log, ca *CA, n, watchedEvery, domains int) (int, error) {
	watched := 0
	for i := 0; i < n; {
		k := 1 + c.rnd.IntN(4)
		names := make([]string, k)
		isWatched := c.rnd.IntN(watchedEvery) == 0
		for j := range names {
			names[j] = fmt.Sprintf("h%d.unwatched%d.%s", c.rnd.IntN(1000), c.rnd.IntN(1<<30), tlds[c.rnd.IntN(len(tlds))])
		}
		if isWatched {
			names[0] = "www." + Domain(c.rnd.IntN(domains))
		}
		if isWatched {
			watched++
		}
		if c.rnd.IntN(2) == 0 && i+1 < n {
			p, err := ca.Issue(names, time.Now().Add(-time.Hour))
			if err != nil {
				return 0, err
			}
			tbs, err := ct.PrecertTBS(p.Precert)
			if err != nil {
				return 0, err
			}
			l.AddPrecert(p.Precert, tbs, ca.KeyHash())
			l.AddCert(p.Cert)
			i += 2
			continue
		}
		der, err := ca.IssueCert(names, time.Now().Add(-time.Hour))
		if err != nil {
			return 0, err
		}
		l.AddCert(der)
		i++
	}
	return watched, nil
}
