package blocklist

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/testutil"
)

// Interface addresses of a hoster's machine: public ones of both families
// and the ones that never send to the Internet.
var machineAddrs = addrs("127.0.0.1", "::1", "10.0.0.5", "192.168.1.2", "fe80::1", "100.64.1.1",
	"5.6.7.8", "5.6.7.9", "2a01:4f8::25", "fd00::1")

func names(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name+" ("+t.Source+")")
	}
	return out
}

func TestSendingAddrs(t *testing.T) {
	cases := []struct {
		name  string
		pf    *PostfixSettings
		want  []string
		notes string
	}{
		{"no postfix: public interface addresses", nil,
			[]string{"5.6.7.8 (interface address)", "5.6.7.9 (interface address)", "2a01:4f8::25 (interface address)"}, ""},
		{"postfix, all interfaces", &PostfixSettings{InetInterfaces: "all", InetProtocols: "all"},
			[]string{"5.6.7.8 (interface address)", "5.6.7.9 (interface address)", "2a01:4f8::25 (interface address)"}, ""},
		{"ipv4 only", &PostfixSettings{InetInterfaces: "all", InetProtocols: "ipv4"},
			[]string{"5.6.7.8 (interface address)", "5.6.7.9 (interface address)"}, ""},
		{"smtp_bind_address pins IPv4", &PostfixSettings{BindAddress: "5.6.7.9", InetProtocols: "all"},
			[]string{"5.6.7.9 (postfix smtp_bind_address)", "2a01:4f8::25 (interface address)"}, ""},
		{"both pinned, master.cf override", &PostfixSettings{BindAddress: "5.6.7.9", BindAddress6: "2a01:4f8::26", MasterBind: []string{"5.6.7.10"}},
			[]string{"5.6.7.9 (postfix smtp_bind_address)", "5.6.7.10 (postfix master.cf smtp_bind_address)", "2a01:4f8::26 (postfix smtp_bind_address6)"}, ""},
		{"one address in inet_interfaces", &PostfixSettings{InetInterfaces: "127.0.0.1, 5.6.7.8", InetProtocols: "ipv4"},
			[]string{"5.6.7.8 (postfix inet_interfaces)"}, ""},
		{"two addresses in inet_interfaces: kernel chooses", &PostfixSettings{InetInterfaces: "5.6.7.8 5.6.7.9", InetProtocols: "ipv4"},
			[]string{"5.6.7.8 (interface address)", "5.6.7.9 (interface address)"}, ""},
		{"behind NAT", &PostfixSettings{BindAddress: "10.0.0.5", InetProtocols: "ipv4"},
			nil, "10.0.0.5 is not a public address"},
		{"host name in smtp_bind_address", &PostfixSettings{BindAddress: "mx.example.org", InetProtocols: "ipv4"},
			[]string{"5.6.7.8 (interface address)", "5.6.7.9 (interface address)"}, "not an IP address"},
	}
	for _, c := range cases {
		got, notes := sendingAddrs(c.pf, machineAddrs)
		if !reflect.DeepEqual(names(got), c.want) {
			t.Errorf("%s: %v, want %v", c.name, names(got), c.want)
		}
		if c.notes != "" && !strings.Contains(strings.Join(notes, "\n"), c.notes) {
			t.Errorf("%s: notes %q, want %q", c.name, notes, c.notes)
		}
	}
}

func TestParseMainCF(t *testing.T) {
	got := ParseMainCF([]byte("# comment\nmyhostname = mx.example.org\ninet_interfaces = 127.0.0.1,\n    5.6.7.8\n\n  # indented comment\nsmtp_bind_address=5.6.7.8\r\nbogus line\nempty =\n"))
	want := map[string]string{"myhostname": "mx.example.org", "inet_interfaces": "127.0.0.1, 5.6.7.8", "smtp_bind_address": "5.6.7.8", "empty": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

// The real postconf reads a main.cf and master.cf written by the test.
func TestDiscoverWithPostconf(t *testing.T) {
	postconf := testutil.RequireProgram(t, "postconf")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mynetworks = 127.0.0.0/8\nsend_from = 5.6.7.9\nsmtp_bind_address = $send_from\ninet_protocols = ipv4\ninet_interfaces = all\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp      unix  -       -       y       -       -       smtp\nrelay2    unix  -       -       y       -       -       smtp\n  -o smtp_bind_address=5.6.7.10\n"), 0o644)
	d := &Discovery{PostfixDir: dir, Postconf: postconf, Interfaces: func() ([]netip.Addr, error) { return machineAddrs, nil }}
	got, _, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"5.6.7.9 (postfix smtp_bind_address)", "5.6.7.10 (postfix master.cf smtp_bind_address)"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("postconf: %v, want %v", names(got), want)
	}
	// Without postconf, main.cf is read directly (no $variables).
	pf, found, err := mainCFSettings(filepath.Join(dir, "main.cf"))
	if err != nil || !found || pf.BindAddress != "$send_from" || pf.InetProtocols != "ipv4" {
		t.Errorf("main.cf: %+v %v %v", pf, found, err)
	}
	// No Postfix configuration at all: the interfaces.
	d = &Discovery{PostfixDir: t.TempDir(), Interfaces: func() ([]netip.Addr, error) { return addrs("5.6.7.8"), nil }}
	got, _, err = d.Discover(context.Background())
	if err != nil || len(got) != 1 || got[0].Name != "5.6.7.8" {
		t.Errorf("no postfix: %v %v", names(got), err)
	}
}

func TestTargetsConfigOverrides(t *testing.T) {
	d := &Discovery{PostfixDir: t.TempDir(), Interfaces: func() ([]netip.Addr, error) { return addrs("5.6.7.8"), nil }}
	ts, _, err := (&Targets{IPs: []string{"198.51.100.4"}, ExtraIPs: []string{"198.51.100.4", "2001:db8::1"}, Domains: []string{"Example.org."}, Discovery: d}).Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"198.51.100.4 (config blocklist.ips)", "2001:db8::1 (config blocklist.extra_ips)", "example.org (config blocklist.domains)"}
	if !reflect.DeepEqual(names(ts), want) {
		t.Errorf("got %v", names(ts))
	}
	if _, _, err := (&Targets{Domains: []string{"192.0.2.1"}}).Resolve(context.Background()); err == nil {
		t.Error("an address accepted as a domain")
	}
}
