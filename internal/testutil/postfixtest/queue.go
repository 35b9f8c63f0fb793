package postfixtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"
)

// Queue is every message in Postfix's queue, as `postqueue -j` gives it:
// one JSON object a message.
func (l *Lab) Queue(t testing.TB) []map[string]any {
	t.Helper()
	out, err := exec.Command(l.postqueue, "-c", l.ConfDir, "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	var msgs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("postqueue -j line %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// QueueNamed is the messages of one queue: "hold", "deferred", "active" or
// "incoming".
func (l *Lab) QueueNamed(t testing.TB, queue string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range l.Queue(t) {
		if m["queue_name"] == queue {
			out = append(out, m)
		}
	}
	return out
}
