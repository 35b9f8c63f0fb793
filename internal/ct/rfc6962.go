package ct

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// rfc6962Client reads a log through the RFC 6962 JSON API.
type rfc6962Client struct {
	base  string // ends without "/"
	key   LogKey
	fetch *fetcher
	batch int64
}

func (c *rfc6962Client) Head(ctx context.Context) (Head, error) {
	body, err := c.fetch.get(ctx, c.base+"/ct/v1/get-sth")
	if err != nil {
		return Head{}, err
	}
	var sth struct {
		TreeSize  int64  `json:"tree_size"`
		Timestamp uint64 `json:"timestamp"`
		Root      []byte `json:"sha256_root_hash"`
		Signature []byte `json:"tree_head_signature"`
	}
	if err := json.Unmarshal(body, &sth); err != nil {
		return Head{}, fmt.Errorf("get-sth: %w", err)
	}
	if sth.TreeSize < 0 || len(sth.Root) != tlog.HashSize {
		return Head{}, fmt.Errorf("get-sth: malformed tree head")
	}
	h := Head{Size: sth.TreeSize, Timestamp: sth.Timestamp}
	copy(h.Root[:], sth.Root)
	if err := verifyDigitallySigned(c.key, treeHeadInput(h), sth.Signature); err != nil {
		return Head{}, fmt.Errorf("get-sth: tree head of size %d: %w", h.Size, err)
	}
	return h, nil
}

func (c *rfc6962Client) Entries(ctx context.Context, start, end int64, head Head) ([]Entry, error) {
	if end > start+c.batch {
		end = start + c.batch
	}
	body, err := c.fetch.get(ctx, fmt.Sprintf("%s/ct/v1/get-entries?start=%d&end=%d", c.base, start, end-1))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Entries []struct {
			LeafInput []byte `json:"leaf_input"`
			ExtraData []byte `json:"extra_data"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("get-entries %d-%d: %w", start, end-1, err)
	}
	if len(resp.Entries) == 0 {
		return nil, fmt.Errorf("get-entries %d-%d: no entries", start, end-1)
	}
	if int64(len(resp.Entries)) > end-start {
		resp.Entries = resp.Entries[:end-start]
	}
	out := make([]Entry, len(resp.Entries))
	for i, r := range resp.Entries {
		e, err := ParseLeafInput(r.LeafInput, r.ExtraData)
		e.Index = start + int64(i)
		if err != nil {
			// The leaf hash is still right: the tree is verified, and the
			// entry is counted as malformed.
			e.Cert, e.PreCert = nil, nil
			e.Timestamp = 0
			out[i] = e
			out[i].parseErr = err
			continue
		}
		out[i] = e
	}
	return out, nil
}

func (c *rfc6962Client) Consistency(ctx context.Context, m int64, head Head) ([]tlog.Hash, error) {
	body, err := c.fetch.get(ctx, fmt.Sprintf("%s/ct/v1/get-sth-consistency?first=%d&second=%d", c.base, m, head.Size))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Consistency [][]byte `json:"consistency"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("get-sth-consistency: %w", err)
	}
	proof := make([]tlog.Hash, len(resp.Consistency))
	for i, p := range resp.Consistency {
		if len(p) != tlog.HashSize {
			return nil, fmt.Errorf("get-sth-consistency: malformed hash")
		}
		copy(proof[i][:], p)
	}
	return proof, nil
}

func (c *rfc6962Client) Frontier(ctx context.Context, m int64, head Head) (frontier, error) {
	proof, err := c.Consistency(ctx, m, head)
	if err != nil {
		return frontier{}, err
	}
	f, err := checkConsistency(proof, m, head.Size, nil, head.Root)
	if err != nil {
		return frontier{}, err
	}
	if len(f.Hashes) == 0 {
		return frontier{}, fmt.Errorf("no frontier for size %d", m)
	}
	return f, nil
}

func trimSlash(u string) string { return strings.TrimRight(u, "/") }
