package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/rdap"
)

func dnsUpdateRDAPBootstrap(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie dns update-rdap-bootstrap", "FILE|URL", `
Replaces the RDAP bootstrap file (IANA's list of each TLD's RDAP server,
https://data.iana.org/rdap/dns.json) that the registry checks use, with
FILE or the document at URL (http or https), after checking it: a file
that does not parse, has no service, lists a non-http URL or is older
than the one in use is refused and the current one stays. The binary
ships a copy; the running daemon reads the new one when it restarts.`)
	timeout := f.Duration("timeout", 30*time.Second, "give up fetching a URL after this long")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one FILE or URL")
	}
	dir, err := config.DataDir(env.data, env.Getenv, config.Default())
	if err == nil {
		err = config.EnsureDataDir(dir)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie dns update-rdap-bootstrap: %v\n", err)
		return exitUsage
	}
	src := f.Arg(0)
	var b []byte
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		b, err = fetchURL(ctx, src, &http.Client{Timeout: *timeout})
	} else {
		b, err = os.ReadFile(src)
	}
	if err == nil {
		var bs *rdap.Bootstrap
		if bs, err = rdap.Install(dir, b); err == nil {
			fmt.Fprintf(env.Stdout, "%s: RDAP bootstrap published %s (%d TLDs) from %s\n", rdap.BootstrapPath(dir),
				bs.Publication.Format(time.RFC3339), bs.Entries(), src)
			return exitOK
		}
	}
	fmt.Fprintf(env.Stderr, "vigie dns update-rdap-bootstrap: %v; the current file stays\n", err)
	return exitFail
}

func fetchURL(ctx context.Context, u string, hc *http.Client) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 8<<20 {
		return nil, fmt.Errorf("%s: larger than 8 MiB", u)
	}
	return b, nil
}
