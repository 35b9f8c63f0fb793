package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// permanentError marks a failure that retrying cannot fix: a 400, a 401,
// a 404: the configuration is wrong, not the receiver busy.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the dispatcher does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError is a receiver asking to be retried later (HTTP 429 or
// 503 with Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (asked to retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns the delay the receiver asked for, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// maxRetryAfter caps what a receiver may ask, so a hostile or broken one
// cannot park a notifier for a day.
const maxRetryAfter = time.Hour

// CheckResponse turns an HTTP answer into nil (2xx) or a classified error:
// 429 and 503 honour Retry-After, 408 and 5xx are retried, every other
// status is permanent. It reads (a little of) and closes the body.
func CheckResponse(resp *http.Response, now time.Time) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err := fmt.Errorf("HTTP %d from %s: %s", resp.StatusCode, resp.Request.URL.Redacted(), printable(string(body)))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return &RetryAfterError{After: d, Err: err}
		}
		// Matrix homeservers say it in the body: {"retry_after_ms": 2000}.
		var m struct {
			RetryAfterMS int64 `json:"retry_after_ms"`
		}
		if json.Unmarshal(body, &m) == nil && m.RetryAfterMS > 0 {
			return &RetryAfterError{After: min(time.Duration(m.RetryAfterMS)*time.Millisecond, maxRetryAfter), Err: err}
		}
		return err
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return err
	default:
		return Permanent(err)
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int(maxRetryAfter/time.Second) { // and no overflow below
			n = int(maxRetryAfter / time.Second)
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// printable shortens a receiver's answer for a log or timeline line and
// drops control characters, so an answer cannot forge lines.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
