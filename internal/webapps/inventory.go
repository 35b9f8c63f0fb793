package webapps

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Inventory is the latest scan's installs, shared between the scanner
// (writer) and the access-log detectors (readers), so that a request can be
// matched with the install it hits.
type Inventory struct {
	mu       sync.RWMutex
	installs []*Install
}

// Set replaces the installs.
func (inv *Inventory) Set(list []*Install) {
	inv.mu.Lock()
	inv.installs = list
	inv.mu.Unlock()
}

// Installs returns the current installs (do not modify them).
func (inv *Inventory) Installs() []*Install {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	return inv.installs
}

// Exposed returns an install served by this log (under site, or in a
// directory named after vhost) whose advisories include one of ids.
func (inv *Inventory) Exposed(site, vhost string, ids []string) *Install {
	if inv == nil || len(ids) == 0 {
		return nil
	}
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	vhost = strings.TrimPrefix(strings.ToLower(vhost), "www.")
	for _, in := range inv.installs {
		if !servedBy(in.Path, site, vhost) {
			continue
		}
		for _, id := range in.Advisories {
			if slices.Contains(ids, id) {
				return in
			}
		}
	}
	return nil
}

// Serves reports whether some install is known behind this log (under
// site, or named after vhost): an attempt on a site whose installs are all
// patched is then only a scanner passing by.
func (inv *Inventory) Serves(site, vhost string) bool {
	if inv == nil {
		return false
	}
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	vhost = strings.TrimPrefix(strings.ToLower(vhost), "www.")
	for _, in := range inv.installs {
		if servedBy(in.Path, site, vhost) {
			return true
		}
	}
	return false
}

// servedBy guesses whether the install at path is what a log line reaches:
// it lies under the log's document root, or (hosters name site dirs after
// the domain) one of its path components is the virtual host.
func servedBy(path, site, vhost string) bool {
	if site != "" {
		rel, err := filepath.Rel(site, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	if vhost == "" {
		return false
	}
	for _, c := range strings.Split(path, "/") {
		c = strings.TrimPrefix(strings.ToLower(c), "www.")
		if c == vhost {
			return true
		}
	}
	return false
}

// InstallAlertKey is the alert key of an install's status finding, which
// a request exploiting that install links to.
func InstallAlertKey(rule, path string) string { return "web/" + rule + "/" + path }

// OwnerGroup puts every finding about one account's sites in one
// incident: the incident of its Unix uid, which the mail watch's findings
// about the mail that uid injects through sendmail (pickup, "uid:N") join
// too (grouping rule 3 in internal/alert), so a site turned spam relay and
// its spam are one incident.
func OwnerGroup(uid int) string { return "account:uid:" + strconv.Itoa(uid) }
