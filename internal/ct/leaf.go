package ct

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/tlog"
)

// An Entry is one log entry as the log serves it, before the certificate
// inside is parsed.
type Entry struct {
	Index     int64
	Timestamp uint64 // milliseconds since the epoch, from the log
	Precert   bool
	// Cert is the certificate (x509_entry) or the precertificate's
	// TBSCertificate with the poison removed (precert_entry).
	Cert []byte
	// PreCert is the whole precertificate, when the log gave it
	// (extra_data in RFC 6962, the tile leaf in static-ct-api).
	PreCert       []byte
	IssuerKeyHash [32]byte
	// LeafHash is the RFC 6962 leaf hash of the MerkleTreeLeaf: what the
	// tree commits to.
	LeafHash tlog.Hash
	// parseErr says why the entry could not be read; its leaf hash still
	// counts in the tree.
	parseErr error
}

var errLeaf = errors.New("malformed log entry")

// ParseLeafInput reads an RFC 6962 get-entries item: leaf_input (a
// MerkleTreeLeaf) and extra_data. The leaf hash is over leaf_input exactly
// as served, so an entry whose bytes differ from what the tree commits to
// fails verification instead of being trusted.
func ParseLeafInput(leafInput, extraData []byte) (Entry, error) {
	var e Entry
	e.LeafHash = tlog.RecordHash(leafInput)
	s := cryptobyte.String(leafInput)
	var version, leafType uint8
	var entryType uint16
	if !s.ReadUint8(&version) || !s.ReadUint8(&leafType) || !s.ReadUint64(&e.Timestamp) || !s.ReadUint16(&entryType) {
		return e, fmt.Errorf("%w: short MerkleTreeLeaf header", errLeaf)
	}
	if version != 0 || leafType != 0 {
		return e, fmt.Errorf("%w: version %d leaf type %d", errLeaf, version, leafType)
	}
	var ext cryptobyte.String
	switch entryType {
	case 0:
		if !s.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.Cert)) {
			return e, fmt.Errorf("%w: bad x509_entry", errLeaf)
		}
	case 1:
		e.Precert = true
		if !s.CopyBytes(e.IssuerKeyHash[:]) || !s.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.Cert)) {
			return e, fmt.Errorf("%w: bad precert_entry", errLeaf)
		}
		x := cryptobyte.String(extraData)
		var pre []byte
		if x.ReadUint24LengthPrefixed((*cryptobyte.String)(&pre)) {
			e.PreCert = pre
		}
	default:
		return e, fmt.Errorf("%w: unknown entry type %d", errLeaf, entryType)
	}
	if !s.ReadUint16LengthPrefixed(&ext) || !s.Empty() {
		return e, fmt.Errorf("%w: bad extensions or trailing data", errLeaf)
	}
	return e, nil
}

// ParseTileLeaf reads one static-ct-api TileLeaf from a data tile and
// returns the rest of the tile. The leaf hash is computed over the
// MerkleTreeLeaf the TileLeaf's first part is, byte for byte.
func ParseTileLeaf(tile []byte) (Entry, []byte, error) {
	var e Entry
	s := cryptobyte.String(tile)
	var entryType uint16
	if !s.ReadUint64(&e.Timestamp) || !s.ReadUint16(&entryType) || e.Timestamp > math.MaxInt64 {
		return e, nil, fmt.Errorf("%w: short tile leaf", errLeaf)
	}
	var ext, fps cryptobyte.String
	switch entryType {
	case 0:
		if !s.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.Cert)) || !s.ReadUint16LengthPrefixed(&ext) {
			return e, nil, fmt.Errorf("%w: bad x509_entry in tile", errLeaf)
		}
	case 1:
		e.Precert = true
		if !s.CopyBytes(e.IssuerKeyHash[:]) || !s.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.Cert)) ||
			!s.ReadUint16LengthPrefixed(&ext) {
			return e, nil, fmt.Errorf("%w: bad precert_entry in tile", errLeaf)
		}
	default:
		return e, nil, fmt.Errorf("%w: unknown entry type %d in tile", errLeaf, entryType)
	}
	leafLen := len(tile) - len(s)
	if e.Precert && !s.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.PreCert)) {
		return e, nil, fmt.Errorf("%w: bad pre_certificate in tile", errLeaf)
	}
	if !s.ReadUint16LengthPrefixed(&fps) || len(fps)%32 != 0 {
		return e, nil, fmt.Errorf("%w: bad chain fingerprints in tile", errLeaf)
	}
	// CTExtensions: one leaf_index extension (type 0, 5-byte index).
	var extType uint8
	var extData cryptobyte.String
	var idx [5]byte
	if !ext.ReadUint8(&extType) || extType != 0 || !ext.ReadUint16LengthPrefixed(&extData) ||
		!extData.CopyBytes(idx[:]) || !extData.Empty() || !ext.Empty() {
		return e, nil, fmt.Errorf("%w: bad leaf_index extension", errLeaf)
	}
	e.Index = int64(idx[0])<<32 | int64(idx[1])<<24 | int64(idx[2])<<16 | int64(idx[3])<<8 | int64(idx[4])
	h := sha256.New()
	h.Write([]byte{0x00, 0x00, 0x00}) // leaf hash prefix, version v1, leaf_type timestamped_entry
	h.Write(tile[:leafLen])
	h.Sum(e.LeafHash[:0])
	return e, s, nil
}
