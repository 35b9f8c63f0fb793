package ct

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// checkpointVerifier verifies the RFC6962NoteSignature of a static-ct-api
// checkpoint (c2sp.org/static-ct-api): a TreeHeadSignature by the log's
// key, carried in a signed note under the log's origin.
type checkpointVerifier struct {
	origin string
	key    LogKey
	hash   uint32
	last   *Head // set by Verify: the timestamp lives in the signature
}

func newCheckpointVerifier(origin string, k LogKey) *checkpointVerifier {
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte("\n\x05"))
	h.Write(k.ID[:])
	sum := h.Sum(nil)
	return &checkpointVerifier{origin: origin, key: k,
		hash: uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])}
}

func (v *checkpointVerifier) Name() string    { return v.origin }
func (v *checkpointVerifier) KeyHash() uint32 { return v.hash }

func (v *checkpointVerifier) Verify(msg, sig []byte) bool {
	h, err := parseCheckpointBody(string(msg), v.origin)
	if err != nil {
		return false
	}
	s := cryptobyte.String(sig)
	if !s.ReadUint64(&h.Timestamp) {
		return false
	}
	if verifyDigitallySigned(v.key, treeHeadInput(h), s) != nil {
		return false
	}
	v.last = &h
	return true
}

// parseCheckpointBody reads origin, size and root hash; extension lines
// are allowed and ignored.
func parseCheckpointBody(text, origin string) (Head, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return Head{}, fmt.Errorf("malformed checkpoint")
	}
	if lines[0] != origin {
		return Head{}, fmt.Errorf("checkpoint origin %q, expected %q", lines[0], origin)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return Head{}, fmt.Errorf("malformed checkpoint size")
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Head{}, fmt.Errorf("malformed checkpoint root hash")
	}
	h := Head{Size: n}
	copy(h.Root[:], root)
	return h, nil
}

// verifyCheckpoint opens a signed note and returns the head its log
// signed.
func verifyCheckpoint(data []byte, origin string, k LogKey) (Head, error) {
	v := newCheckpointVerifier(origin, k)
	if _, err := note.Open(data, note.VerifierList(v)); err != nil {
		return Head{}, fmt.Errorf("%w: checkpoint: %v", errSignature, err)
	}
	return *v.last, nil
}
