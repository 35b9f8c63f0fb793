package policy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/doctor/doctortest"
	"github.com/vigie/vigie/internal/testutil"
)

// doctorRig is a Postfix configuration directory (main.cf, master.cf) that
// the real postconf reads, and a policy configuration on free ports.
type doctorRig struct {
	dir string
	cfg *config.Config
}

func newDoctorRig(t *testing.T, enabled config.Switch) *doctorRig {
	t.Helper()
	testutil.RequireProgram(t, "postconf")
	if testing.Short() {
		t.Skip("runs postconf several times (a second or more each on a busy machine)")
	}
	r := &doctorRig{dir: t.TempDir(), cfg: config.Default()}
	r.cfg.Postfix.ConfigDir = r.dir
	r.cfg.Policy.Postfix.ConfigDir = r.dir
	r.cfg.Policy.Enabled = enabled
	r.cfg.Policy.Listen = []string{fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))}
	r.cfg.Policy.Milter.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	r.cfg.Policy.Milter.LocalListen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	os.WriteFile(filepath.Join(r.dir, "master.cf"), []byte("smtp inet n - n - - smtpd\n"), 0o644)
	return r
}

// vigieLines are the main.cf lines `vigie postfix-config` prints for the
// rig's policy section.
func (r *doctorRig) vigieLines() []string {
	p := r.cfg.Policy
	return []string{
		"smtpd_milters = " + ServiceAddr(p.Milter.Listen),
		"non_smtpd_milters = " + ServiceAddr(p.Milter.LocalListen),
		"milter_default_action = accept",
		"milter_mail_macros = " + MilterMacros,
		RestrictionsFor(p.Stage) + " = check_policy_service " + ServiceAddr(p.Listen[0]),
		"smtpd_policy_service_default_action = DUNNO",
	}
}

func (r *doctorRig) main(lines ...string) {
	os.WriteFile(filepath.Join(r.dir, "main.cf"), []byte("compatibility_level = 3.6\n"+strings.Join(lines, "\n")+"\n"), 0o644)
}

func (r *doctorRig) doctor(t *testing.T) map[string]doctor.Check {
	t.Helper()
	return doctortest.Run(t, string(Name), Doctor, doctor.Env{Config: r.cfg, Account: doctor.Account{Name: "root", UID: 0}, Timeout: 2 * time.Second})
}

// Postfix's lines point at vigie and vigie serves: every check is ok,
// the listeners answer the real protocols.
func TestDoctorPolicyAllGood(t *testing.T) {
	r := newDoctorRig(t, config.SwitchAuto)
	r.main(r.vigieLines()...)
	srv, err := New(Options{Config: r.cfg.Policy, Store: openStore(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-srv.Ready()

	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy server", doctor.OK, "policy.enabled: auto starts it", "main.cf names "+r.cfg.Policy.Listen[0])
	doctortest.Want(t, cs, "policy lines", doctor.OK, "smtpd_end_of_data_restrictions has check_policy_service inet:"+r.cfg.Policy.Listen[0])
	doctortest.Want(t, cs, "milter lines", doctor.OK)
	doctortest.Want(t, cs, "policy listener "+r.cfg.Policy.Listen[0], doctor.OK, "action=DUNNO")
	doctortest.Want(t, cs, "milter listener "+r.cfg.Policy.Milter.Listen, doctor.OK, "negotiated")
	doctortest.Want(t, cs, "milter listener "+r.cfg.Policy.Milter.LocalListen, doctor.OK)
}

// The complaint: under auto, the doctor says exactly why no
// policy server starts.
func TestDoctorPolicyAutoSaysWhy(t *testing.T) {
	r := newDoctorRig(t, config.SwitchAuto)
	os.Remove(filepath.Join(r.dir, "master.cf"))
	doctortest.Want(t, r.doctor(t), "policy server", doctor.Off, "policy.enabled: auto starts nothing: no main.cf in "+r.dir)

	r.main("smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:12525")
	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy server", doctor.Off, "has a check_policy_service, but for none of policy.listen")
	if !strings.Contains(cs["policy server"].Fix, "point it at vigie") {
		t.Errorf("fix %q", cs["policy server"].Fix)
	}
	doctortest.Want(t, cs, "policy lines", doctor.Off, "lacks check_policy_service inet:"+r.cfg.Policy.Listen[0])

	// a commented-out line asks nothing
	r.main("#smtpd_end_of_data_restrictions = check_policy_service inet:" + r.cfg.Policy.Listen[0])
	doctortest.Want(t, r.doctor(t), "policy server", doctor.Off, "asks no policy server")
}

// Each FAIL path of the policy doctor, on a broken configuration.
func TestDoctorPolicyFailures(t *testing.T) {
	t.Run("off while Postfix asks vigie", func(t *testing.T) {
		r := newDoctorRig(t, config.SwitchOff)
		r.main(r.vigieLines()...)
		cs := r.doctor(t)
		doctortest.Want(t, cs, "policy server", doctor.Fail, "policy.enabled: off, but", "Postfix asks a server that is not there")
		doctortest.Want(t, cs, "policy lines", doctor.Fail, "but vigie would start no policy server")
	})
	t.Run("nothing listens and Postfix is not fail-open", func(t *testing.T) {
		r := newDoctorRig(t, config.SwitchAuto)
		lines := r.vigieLines()
		r.main(lines[:len(lines)-1]...) // no smtpd_policy_service_default_action: Postfix's 451
		cs := r.doctor(t)
		doctortest.Want(t, cs, "policy lines", doctor.Warn, "smtpd_policy_service_default_action: should be DUNNO")
		doctortest.Want(t, cs, "policy listener "+r.cfg.Policy.Listen[0], doctor.Fail, "nothing listens", "its mail is refused now")
		doctortest.Want(t, cs, "milter listener "+r.cfg.Policy.Milter.Listen, doctor.Warn, "nothing listens")
	})
	t.Run("another program holds the port", func(t *testing.T) {
		r := newDoctorRig(t, config.SwitchAuto)
		r.main(r.vigieLines()...)
		ln, err := net.Listen("tcp", r.cfg.Policy.Listen[0])
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: http.NotFoundHandler()}
		go hs.Serve(ln)
		defer hs.Close()
		mln, err := net.Listen("tcp", r.cfg.Policy.Milter.Listen)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := mln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("220 not a milter\r\n"))
				c.Close()
			}
		}()
		defer mln.Close()
		cs := r.doctor(t)
		doctortest.Want(t, cs, "policy listener "+r.cfg.Policy.Listen[0], doctor.Fail, "is not the policy protocol")
		doctortest.Want(t, cs, "milter listener "+r.cfg.Policy.Milter.Listen, doctor.Fail, "no milter negotiation")
	})
	t.Run("the daemon's account cannot read main.cf", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to make a file others cannot read")
		}
		r := newDoctorRig(t, config.SwitchAuto)
		r.main(r.vigieLines()...)
		os.Chmod(filepath.Join(r.dir, "main.cf"), 0o600)
		os.Chmod(r.dir, 0o755)
		env := doctor.Env{Config: r.cfg, Account: doctor.Account{Name: "vigie", UID: 64999, Groups: []int{64999}}, Timeout: time.Second}
		var server doctor.Check
		for _, c := range Doctor(context.Background(), env) {
			if c.Item == "policy server" {
				server = c
			}
		}
		if server.Status != doctor.Fail || !strings.Contains(server.Found, "is not readable by the vigie user") ||
			!strings.Contains(server.Found, "the daemon would start no policy server") {
			t.Errorf("unreadable main.cf: %+v", server)
		}
	})
}

// Postfix asks vigie, but at another stage than policy.stage: nothing
// would be counted.
func TestDoctorPolicyWrongStage(t *testing.T) {
	r := newDoctorRig(t, config.SwitchAuto)
	r.main("smtpd_recipient_restrictions = permit_sasl_authenticated, check_policy_service inet:"+r.cfg.Policy.Listen[0]+", reject",
		"smtpd_policy_service_default_action = DUNNO")
	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy server", doctor.OK)
	doctortest.Want(t, cs, "policy lines", doctor.Warn, "Postfix asks vigie in smtpd_recipient_restrictions, but policy.stage is END-OF-MESSAGE", "nothing is counted")
	doctortest.Want(t, cs, "milter lines", doctor.Warn, "smtpd_milters: lacks inet:"+r.cfg.Policy.Milter.Listen)
}

// A chrooted smtpd names the socket relative to the queue directory.
func TestDoctorPolicyChrootSocket(t *testing.T) {
	r := newDoctorRig(t, config.SwitchOn)
	q := t.TempDir()
	r.cfg.Policy.Listen = []string{"unix:" + filepath.Join(q, "private", "vigie")}
	r.cfg.Policy.Milter.Listen, r.cfg.Policy.Milter.LocalListen = "", ""
	r.main("queue_directory = "+q, "smtpd_end_of_data_restrictions = check_policy_service unix:private/vigie",
		"smtpd_policy_service_default_action = DUNNO")
	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy lines", doctor.OK)
	if _, ok := cs["milter lines"]; ok {
		t.Error("no milter configured, yet a milter check")
	}
	doctortest.Want(t, cs, "policy listener "+r.cfg.Policy.Listen[0], doctor.Warn, "nothing listens")
}

// The case: Postfix runs from another directory (a second
// instance, listed in the default main.cf's alternate or multi-instance
// directories) and asks vigie there, while postfix.config_dir points
// elsewhere: auto starts nothing, and the doctor says where to point it.
// MAIL_CONFIG stands for the default /etc/postfix.
func TestDoctorPolicyPostfixElsewhere(t *testing.T) {
	r := newDoctorRig(t, config.SwitchAuto)
	r.main("smtpd_relay_restrictions = permit_sasl_authenticated, reject")
	other := newDoctorRig(t, config.SwitchAuto)
	other.cfg.Policy = r.cfg.Policy
	other.main(other.vigieLines()...)
	def := t.TempDir()
	os.WriteFile(filepath.Join(def, "main.cf"), []byte("compatibility_level = 3.6\nmulti_instance_directories = "+other.dir+"\n"), 0o644)
	os.WriteFile(filepath.Join(def, "master.cf"), nil, 0o644)
	t.Setenv("MAIL_CONFIG", def)
	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy server", doctor.Fail, "auto starts nothing: Postfix in "+r.dir+" asks no policy server",
		"but "+other.dir+"/main.cf names "+r.cfg.Policy.Listen[0]+" in a check_policy_service: that Postfix asks a server vigie does not start")
	if fix := cs["policy server"].Fix; fix != "set postfix.config_dir: "+other.dir {
		t.Errorf("fix %q", fix)
	}
}

// Where master.cf's services ask vigie and main.cf does not, or override
// main.cf's line without vigie.
func TestDoctorPolicyMasterServices(t *testing.T) {
	r := newDoctorRig(t, config.SwitchAuto)
	lines := r.vigieLines()
	r.main(lines[:4]...) // the milter lines only
	os.WriteFile(filepath.Join(r.dir, "master.cf"), []byte("smtp inet n - n - - smtpd\nsubmission inet n - n - - smtpd\n"+
		"  -o smtpd_end_of_data_restrictions=check_policy_service,inet:"+r.cfg.Policy.Listen[0]+"\n"), 0o644)
	cs := r.doctor(t)
	doctortest.Want(t, cs, "policy server", doctor.OK, "master.cf names")
	doctortest.Want(t, cs, "policy lines", doctor.Warn, "only master.cf submission/inet/smtpd_end_of_data_restrictions asks vigie")

	r.main(lines...)
	os.WriteFile(filepath.Join(r.dir, "master.cf"), []byte("smtp inet n - n - - smtpd\nsubmission inet n - n - - smtpd\n"+
		"  -o smtpd_end_of_data_restrictions=permit_sasl_authenticated\n"), 0o644)
	doctortest.Want(t, r.doctor(t), "policy lines", doctor.Warn, "main.cf asks vigie, but master.cf service(s) submission/inet override smtpd_end_of_data_restrictions without it")
}
