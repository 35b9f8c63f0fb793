package ct

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// A logClient reads one log, whatever its API.
type logClient interface {
	// Head returns the log's latest tree head, its signature verified.
	Head(ctx context.Context) (Head, error)
	// Entries returns entries from start (at least one, at most up to
	// end, exclusive), which are all within head.
	Entries(ctx context.Context, start, end int64, head Head) ([]Entry, error)
	// Consistency returns the proof that the tree of size m is a prefix of
	// head, in RFC 6962 form.
	Consistency(ctx context.Context, m int64, head Head) ([]tlog.Hash, error)
	// Frontier returns the verified frontier of the tree of size m < head.Size,
	// so that a log can be followed from near its end.
	Frontier(ctx context.Context, m int64, head Head) (frontier, error)
}
