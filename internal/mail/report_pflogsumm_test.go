package mail

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/testutil"
)

var pflogsummTotal = regexp.MustCompile(`^\s*(\d+)\s+(received|delivered|forwarded|deferred|bounced|rejected)\b`)

// pflogsummTotals runs pflogsumm on a file and reads its grand totals.
func pflogsummTotals(t *testing.T, bin, path string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--smtpd-stats", path).Output()
	if err != nil {
		t.Fatalf("pflogsumm %s: %v", path, err)
	}
	got := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := pflogsummTotal.FindStringSubmatch(sc.Text()); m != nil {
			if _, seen := got[m[2]]; !seen { // the first table is the grand totals
				got[m[2]], _ = strconv.Atoi(m[1])
			}
		}
	}
	return got
}

func vigieTotals(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep := NewReporter(postfixlog.Options{Location: time.Local})
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		rep.Line(sc.Text())
	}
	r := rep.Report()
	return map[string]int{"received": r.Received, "delivered": r.Delivered, "forwarded": r.Forwarded,
		"deferred": r.DeferredMessages, "bounced": r.Bounced, "rejected": r.Rejected}
}

// `vigie mail report` counts what pflogsumm counts, side by side on the
// same logs: the real samples from other projects' test suites, and two
// days of the realistic generator in both stamp formats.
func TestReportMatchesPflogsumm(t *testing.T) {
	bin := testutil.RequireProgram(t, "pflogsumm")
	files, _ := filepath.Glob("postfixlog/testdata/real/*.log")
	dir := t.TempDir()
	for i, classic := range []bool{true, false} {
		var buf bytes.Buffer
		if _, err := (mailgen.Server{Start: time.Date(2025, 3, 3, 0, 0, 0, 0, time.Local), End: time.Date(2025, 3, 5, 0, 0, 0, 0, time.Local),
			Seed: uint64(40 + i), Classic: classic, Postfix39: classic}).Write(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "gen"+strconv.Itoa(i)+".log")
		os.WriteFile(p, buf.Bytes(), 0o644)
		files = append(files, p)
	}
	// A deferred message retried from before the log began, a bounce
	// Postfix made itself, a content filter's "forwarded as", a milter
	// reject: what vigie once counted differently.
	edge := filepath.Join(dir, "edge.log")
	os.WriteFile(edge, []byte(`Mar  3 10:00:00 mx postfix/qmgr[900]: 4QJyT10mRzz9Hq: from=<old@asso.example>, size=1200, nrcpt=1 (queue active)
Mar  3 10:00:01 mx postfix/smtp[901]: 4QJyT10mRzz9Hq: to=<x@slow.example>, relay=none, delay=90000, delays=89999/0/1/0, dsn=4.4.1, status=deferred (connect to mx.slow.example[192.0.2.9]:25: Connection timed out)
Mar  3 10:00:02 mx postfix/bounce[902]: 3F4A21C0D2: sender non-delivery notification: 3F4A21C0D3
Mar  3 10:00:02 mx postfix/qmgr[900]: 3F4A21C0D3: from=<>, size=3000, nrcpt=1 (queue active)
Mar  3 10:00:03 mx postfix/local[903]: 3F4A21C0D3: to=<member@asso.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)
Mar  3 10:00:04 mx postfix/smtpd[904]: 9A1B2C3D4E: client=unknown[203.0.113.8]
Mar  3 10:00:04 mx postfix/qmgr[900]: 9A1B2C3D4E: from=<a@remote.example>, size=1500, nrcpt=1 (queue active)
Mar  3 10:00:05 mx postfix/smtp[905]: 9A1B2C3D4E: to=<b@asso.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5B6C7D8E9F)
Mar  3 10:00:06 mx postfix/smtpd[904]: 8A1B2C3D4E: client=unknown[203.0.113.9]
Mar  3 10:00:06 mx postfix/cleanup[906]: 8A1B2C3D4E: milter-reject: END-OF-MESSAGE from unknown[203.0.113.9]: 5.7.1 Spam; from=<s@spam.example> to=<b@asso.example> proto=ESMTP helo=<x>
`), 0o644)
	files = append(files, edge)
	for _, f := range files {
		want, got := pflogsummTotals(t, bin, f), vigieTotals(t, f)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s: vigie %d, pflogsumm %d", filepath.Base(f), k, got[k], w)
			}
		}
		if len(want) < 6 {
			t.Errorf("%s: pflogsumm totals read: %v", filepath.Base(f), want)
		}
		t.Logf("%s: %v", filepath.Base(f), got)
	}
}
