package mailqueue

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestValidQueueID(t *testing.T) {
	for id, want := range map[string]bool{
		"A6B75984CB3": true, "3xYz9Bq2rG9z1Hk": true, "ABCDE": true,
		"ALL": false, "-": false, "-d": false, "ABC": false, "A6B7 984CB3": false, "A6B75984CB3\n": false,
		"../../etc": false, "": false, strings.Repeat("A", 33): false, "ÄBCDEF": false,
	} {
		if ValidQueueID(id) != want {
			t.Errorf("ValidQueueID(%q) = %v", id, !want)
		}
	}
}

func TestParseQueue(t *testing.T) {
	b, err := os.ReadFile("testdata/postqueue.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	msgs, bad := ParseQueue(b)
	if bad != 3 || len(msgs) != 3 {
		t.Fatalf("%d messages, %d bad: %+v", len(msgs), bad, msgs)
	}
	if m := msgs[0]; m.ID != "A6B75984CB3" || m.Queue != "deferred" || m.Sender != "alice@example.org" || m.Arrival != 1795238094 ||
		len(m.Recipients) != 1 || m.Recipients[0].Address != "x@example.net" {
		t.Errorf("first: %+v", m)
	}
}

func TestParsePostcat(t *testing.T) {
	cases := []struct {
		file string
		want Owner
	}{
		// the forged "from userid 0" below Postfix's own Received is ignored
		{"testdata/postcat-smtp.txt", Owner{SASLUser: "alice", Sender: "alice@example.org", Client: "127.0.0.1", UID: -1}},
		{"testdata/postcat-pickup.txt", Owner{Sender: "web@example.org", UID: 33}},
	}
	for _, c := range cases {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ParsePostcat(b)
		if !ok || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.file, got, ok, c.want)
		}
	}
	if _, ok := ParsePostcat([]byte("postcat: fatal: open queue file ABCDE: No such file or directory\n")); ok {
		t.Error("an error message parsed as a queue file")
	}
}

type mapIndex map[string]Owner

func (m mapIndex) Owners(ctx context.Context, msgs []Message) (map[string]Owner, error) {
	out := map[string]Owner{}
	for _, x := range msgs {
		if o, ok := m[x.ID]; ok {
			out[x.ID] = o
		}
	}
	return out, nil
}

func TestSelect(t *testing.T) {
	msgs := []Message{
		{ID: "AAAAA1", Queue: "active", Sender: "a@x"},
		{ID: "AAAAA2", Queue: "hold", Sender: "A@X"},
		{ID: "AAAAA3", Queue: "deferred", Sender: "b@x"},
		{ID: "AAAAA4", Queue: "maildrop", Sender: "a@x"},
		{ID: "AAAAA5", Queue: "deferred", Sender: "www@x"},
	}
	first := mapIndex{"AAAAA1": {SASLUser: "alice", UID: -1}}
	second := mapIndex{"AAAAA1": {SASLUser: "mallory", UID: -1}, "AAAAA2": {SASLUser: "Alice", UID: -1}, "AAAAA5": {UID: 33}}
	ix := Chain{first, second}
	ids := func(c Criteria, op Op) string {
		got, err := Select(context.Background(), msgs, c, op, ix)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(IDs(got), ",")
	}
	for _, c := range []struct {
		c    Criteria
		op   Op
		want string
	}{
		{Criteria{Sender: "a@x", UID: -1}, Hold, "AAAAA1"},
		{Criteria{Sender: "a@x", UID: -1}, Release, "AAAAA2"},
		{Criteria{Sender: "a@x", UID: -1}, Purge, "AAAAA1,AAAAA2"},
		{Criteria{SASLUser: "alice", UID: -1}, Purge, "AAAAA1,AAAAA2"}, // the first index wins for AAAAA1
		{Criteria{SASLUser: "mallory", UID: -1}, Purge, ""},
		{Criteria{UID: 33}, Purge, "AAAAA5"},
	} {
		if got := ids(c.c, c.op); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.op, c.c, got, c.want)
		}
	}
	if _, err := Select(context.Background(), msgs, Criteria{UID: -1}, Hold, ix); err == nil {
		t.Error("no criteria accepted")
	}
}

// Apply refuses invalid ids before running anything.
func TestApplyRefusesBadIDs(t *testing.T) {
	tools := &Tools{Postsuper: []string{"/nonexistent/postsuper"}}
	err := tools.Apply(context.Background(), Purge, []string{"AAAAA1", "ALL"})
	if err == nil || !strings.Contains(err.Error(), `refusing invalid queue id "ALL"`) {
		t.Errorf("err = %v", err)
	}
}

func FuzzParsePostcat(f *testing.F) {
	for _, file := range []string{"testdata/postcat-smtp.txt", "testdata/postcat-pickup.txt"} {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, ok := ParsePostcat(b)
		if !ok && o != (Owner{}) {
			t.Fatal("owner without a queue file")
		}
	})
}

func FuzzParseQueue(f *testing.F) {
	b, _ := os.ReadFile("testdata/postqueue.jsonl")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := ParseQueue(b)
		for _, m := range msgs {
			if !ValidQueueID(m.ID) {
				t.Fatalf("invalid id %q accepted", m.ID)
			}
		}
	})
}
