package ct

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// fetcher does a log's HTTP requests: at most rate per second, and on
// 429 or 5xx it backs off (honouring Retry-After) before trying again,
// because real logs rate-limit their readers.
type fetcher struct {
	client     *http.Client
	interval   time.Duration // between two requests; 0: no limit
	maxRetries int
	maxBody    int64
	backoff    time.Duration
	sleep      func(ctx context.Context, d time.Duration) error
	onRetry    func(status int, err error)

	mu   sync.Mutex
	next time.Time
}

// httpError is a response that was not 200.
type httpError struct {
	URL    string
	Status int
}

func (e *httpError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

func isNotFound(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wait takes a slot under the rate limit.
func (f *fetcher) wait(ctx context.Context) error {
	if f.interval <= 0 {
		return ctx.Err()
	}
	f.mu.Lock()
	now := time.Now()
	at := f.next
	if at.Before(now) {
		at = now
	}
	f.next = at.Add(f.interval)
	f.mu.Unlock()
	return f.sleep(ctx, time.Until(at))
}

// get fetches url and returns its body, ungzipped if it came compressed.
func (f *fetcher) get(ctx context.Context, url string) ([]byte, error) {
	delay := f.backoff
	for attempt := 0; ; attempt++ {
		if err := f.wait(ctx); err != nil {
			return nil, err
		}
		body, retryAfter, err := f.once(ctx, url)
		if err == nil {
			return body, nil
		}
		var he *httpError
		retryable := errors.As(err, &he) && (he.Status == http.StatusTooManyRequests || he.Status >= 500)
		if !retryable && ctx.Err() == nil && !errors.As(err, &he) {
			retryable = true // connection errors: the log may be restarting
		}
		if !retryable || attempt >= f.maxRetries {
			return nil, err
		}
		if f.onRetry != nil {
			status := 0
			if he != nil {
				status = he.Status
			}
			f.onRetry(status, err)
		}
		d := delay
		if retryAfter > d {
			d = retryAfter
		}
		if serr := f.sleep(ctx, d); serr != nil {
			// say why it was retrying, not only that time ran out
			return nil, fmt.Errorf("%w after %d attempt(s); the last: %w", serr, attempt+1, err)
		}
		if delay *= 2; delay > time.Minute {
			delay = time.Minute
		}
	}
}

func (f *fetcher) once(ctx context.Context, url string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", "vigie-ct")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
		var ra time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
			if ra > 10*time.Minute {
				ra = 10 * time.Minute
			}
		}
		return nil, ra, &httpError{URL: url, Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(body)) > f.maxBody {
		return nil, 0, fmt.Errorf("GET %s: response larger than %d bytes", url, f.maxBody)
	}
	// Tiles are often stored gzipped and served with Content-Encoding the
	// transport did not undo (or without it).
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, 0, fmt.Errorf("GET %s: %w", url, err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, f.maxBody+1))
		if err != nil || int64(len(body)) > f.maxBody {
			return nil, 0, fmt.Errorf("GET %s: bad or oversized gzip body", url)
		}
	}
	return body, 0, nil
}
