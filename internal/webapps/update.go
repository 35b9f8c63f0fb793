package webapps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// FetchData reads version data from a file or an http(s) URL and validates
// it; nothing is written.
func FetchData(ctx context.Context, src string, client *http.Client) (*Data, []byte, error) {
	var b []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		if client == nil {
			client = http.DefaultClient
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if rerr != nil {
			return nil, nil, rerr
		}
		resp, rerr := client.Do(req)
		if rerr != nil {
			return nil, nil, fmt.Errorf("fetching %s: %w", src, rerr)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("fetching %s: HTTP %s", src, resp.Status)
		}
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxDataSize+1))
	} else {
		f, oerr := os.Open(src)
		if oerr != nil {
			return nil, nil, oerr
		}
		defer f.Close()
		b, err = io.ReadAll(io.LimitReader(f, maxDataSize+1))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", src, err)
	}
	d, err := ParseData(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", src, err)
	}
	return d, b, nil
}

// openSource opens a file or an http(s) URL for reading.
func openSource(ctx context.Context, src string, client *http.Client) (io.ReadCloser, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.Open(src)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("fetching %s: HTTP %s", src, resp.Status)
	}
	return resp.Body, nil
}

// maxFeedSize bounds a Wordfence feed read (the full production feed is
// a few hundred MB at most).
const maxFeedSize = 1 << 30

// UpdateDataWordfence imports the plugin and theme advisories of the
// Wordfence feed at feedSrc into base (the core data: the current file,
// or the one given) and, if the result checks, replaces dest with it.
func UpdateDataWordfence(ctx context.Context, base *Data, feedSrc, dest string, client *http.Client) (*Data, int, error) {
	rc, err := openSource(ctx, feedSrc, client)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	ext, skipped, err := ImportWordfence(io.LimitReader(rc, maxFeedSize))
	if err != nil {
		return nil, skipped, fmt.Errorf("%s: %w", feedSrc, err)
	}
	if len(ext) == 0 {
		return nil, skipped, fmt.Errorf("%s: no plugin or theme advisory in it", feedSrc)
	}
	base.MergeExtensions(ext, WordfenceNotice)
	b, err := base.Encode()
	if err != nil {
		return nil, skipped, err
	}
	d, err := ParseData(b)
	if err != nil {
		return nil, skipped, err
	}
	return d, skipped, writeAtomic(dest, b)
}

// UpdateData validates the data at src and, only if it is good, replaces
// dest with it atomically (a crash leaves the old file or the new one).
func UpdateData(ctx context.Context, src, dest string, client *http.Client) (*Data, error) {
	d, b, err := FetchData(ctx, src, client)
	if err != nil {
		return nil, err
	}
	return d, writeAtomic(dest, b)
}

func writeAtomic(dest string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".web-versions-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	return nil
}
