package ct

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// staticClient reads a log through the static-ct-api
// (c2sp.org/static-ct-api): a signed checkpoint, hash tiles and data
// tiles of 256 entries, the last one possibly partial.
type staticClient struct {
	base   string // monitoring prefix, without "/"
	origin string
	key    LogKey
	fetch  *fetcher
}

const tileHeight = 8
const tileWidth = 1 << tileHeight

func (c *staticClient) Head(ctx context.Context) (Head, error) {
	body, err := c.fetch.get(ctx, c.base+"/checkpoint")
	if err != nil {
		return Head{}, err
	}
	h, err := verifyCheckpoint(body, c.origin, c.key)
	if err != nil {
		return Head{}, err
	}
	return h, nil
}

func tilePath(t tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
}

// readTile fetches a tile; a partial tile that is gone because the tile
// filled up is read from the full one.
func (c *staticClient) readTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	body, err := c.fetch.get(ctx, c.base+"/"+tilePath(t))
	if err != nil && t.W < tileWidth && isNotFound(err) {
		full := t
		full.W = tileWidth
		body, err = c.fetch.get(ctx, c.base+"/"+tilePath(full))
	}
	return body, err
}

func (c *staticClient) Entries(ctx context.Context, start, end int64, head Head) ([]Entry, error) {
	n := start / tileWidth
	w := head.Size - n*tileWidth
	if w > tileWidth {
		w = tileWidth
	}
	data, err := c.readTile(ctx, tlog.Tile{H: tileHeight, L: -1, N: n, W: int(w)})
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := int64(0); i < w; i++ {
		e, rest, err := ParseTileLeaf(data)
		if err != nil {
			// A tile that cannot be split into leaves cannot be verified
			// either: the log is broken or lying.
			return nil, fmt.Errorf("%w: data tile %d, leaf %d: %v", errInconsistent, n, i, err)
		}
		data = rest
		idx := n*tileWidth + i
		if e.Index != idx {
			return nil, fmt.Errorf("%w: data tile %d: leaf %d says it is entry %d", errInconsistent, n, idx, e.Index)
		}
		if idx >= start && idx < end {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("data tile %d has no entry from %d", n, start)
	}
	return out, nil
}

// tileReader gives tlog the log's hash tiles.
type tileReader struct {
	ctx context.Context
	c   *staticClient
}

func (r tileReader) Height() int { return tileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.c.readTile(r.ctx, t)
		if err != nil {
			return nil, err
		}
		if want := t.W * tlog.HashSize; len(b) > want {
			b = b[:want] // a full tile read for a partial one
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func (c *staticClient) hashReader(ctx context.Context, head Head) tlog.HashReader {
	return tlog.TileHashReader(tlog.Tree{N: head.Size, Hash: head.Root}, tileReader{ctx, c})
}

func (c *staticClient) Consistency(ctx context.Context, m int64, head Head) ([]tlog.Hash, error) {
	p, err := tlog.ProveTree(head.Size, m, c.hashReader(ctx, head))
	if err != nil {
		return nil, fmt.Errorf("consistency from %d to %d through hash tiles: %w", m, head.Size, err)
	}
	return p, nil
}

func (c *staticClient) Frontier(ctx context.Context, m int64, head Head) (frontier, error) {
	var idx []int64
	start := int64(0)
	for l := 62; l >= 0; l-- {
		if m&(1<<l) != 0 {
			idx = append(idx, tlog.StoredHashIndex(l, start>>l))
			start += 1 << l
		}
	}
	hs, err := c.hashReader(ctx, head).ReadHashes(idx)
	if err != nil {
		return frontier{}, fmt.Errorf("frontier at %d through hash tiles: %w", m, err)
	}
	return frontier{Size: m, Hashes: hs}, nil
}
