package blocklist

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PostfixSettings are the Postfix parameters that choose the source
// address of outgoing mail.
type PostfixSettings struct {
	BindAddress    string   // smtp_bind_address
	BindAddress6   string   // smtp_bind_address6
	InetInterfaces string   // inet_interfaces
	InetProtocols  string   // inet_protocols
	MasterBind     []string // smtp_bind_address(6) set with -o in master.cf
}

var postfixParams = []string{"smtp_bind_address", "smtp_bind_address6", "inet_interfaces", "inet_protocols"}

// Postfix reads the settings through postconf (which expands $variables),
// or from main.cf when postconf is not installed. found is false when
// there is no Postfix configuration.
func (d *Discovery) Postfix(ctx context.Context) (PostfixSettings, bool, error) {
	dir := d.PostfixDir
	if dir == "" {
		dir = "/etc/postfix"
	}
	mainCF := filepath.Join(dir, "main.cf")
	if _, err := os.Stat(mainCF); errors.Is(err, os.ErrNotExist) {
		return PostfixSettings{}, false, nil
	}
	prog := d.Postconf
	if prog == "" {
		prog = findProgram("postconf")
	}
	if prog == "" {
		return mainCFSettings(mainCF)
	}
	out, err := exec.CommandContext(ctx, prog, append([]string{"-c", dir, "-x"}, postfixParams...)...).Output()
	if err != nil {
		return PostfixSettings{}, false, fmt.Errorf("%s -c %s: %w%s", prog, dir, err, stderrOf(err))
	}
	params := parsePostconf(out)
	// master.cf overrides ("smtp/unix/smtp_bind_address = ..."); an old
	// postconf without -P only loses them.
	var master []string
	if mout, err := exec.CommandContext(ctx, prog, "-c", dir, "-P", "-x").Output(); err == nil {
		for k, v := range parsePostconf(mout) {
			if strings.HasSuffix(k, "/smtp_bind_address") || strings.HasSuffix(k, "/smtp_bind_address6") {
				master = append(master, v)
			}
		}
	}
	return settingsFrom(params, master), true, nil
}

// mainCFSettings reads main.cf itself, for machines without postconf.
func mainCFSettings(mainCF string) (PostfixSettings, bool, error) {
	data, err := os.ReadFile(mainCF)
	if err != nil {
		return PostfixSettings{}, false, fmt.Errorf("reading %s: %w", mainCF, err)
	}
	return settingsFrom(ParseMainCF(data), nil), true, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func findProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func settingsFrom(params map[string]string, master []string) PostfixSettings {
	return PostfixSettings{
		BindAddress:    params["smtp_bind_address"],
		BindAddress6:   params["smtp_bind_address6"],
		InetInterfaces: params["inet_interfaces"],
		InetProtocols:  params["inet_protocols"],
		MasterBind:     master,
	}
}

// parsePostconf reads "name = value" lines.
func parsePostconf(out []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// ParseMainCF reads main.cf: "name = value" logical lines, where a line
// starting with white space continues the previous one and a line
// starting with # is a comment. $variables are not expanded (postconf
// does that when it is installed).
func ParseMainCF(data []byte) map[string]string {
	m := map[string]string{}
	var key string
	var val strings.Builder
	flush := func() {
		if key != "" {
			m[key] = strings.TrimSpace(val.String())
		}
		key = ""
		val.Reset()
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimLeft(line, " \t"), "#"):
			// Blank and comment lines end nothing: Postfix skips them.
		case line[0] == ' ' || line[0] == '\t':
			if key != "" {
				val.WriteByte(' ')
				val.WriteString(strings.TrimSpace(line))
			}
		default:
			flush()
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue // not a parameter line; postfix would complain, vigie skips it
			}
			key = strings.TrimSpace(k)
			val.WriteString(strings.TrimSpace(v))
		}
	}
	flush()
	return m
}
