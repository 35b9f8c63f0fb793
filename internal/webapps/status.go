package webapps

import "time"

// Status is what vigie thinks of an install.
type Status string

// The statuses, from the most to the least pressing. An install has one;
// Abandoned is also reported as a flag beside a Vulnerable status.
const (
	// StatusVulnerable: the version is in the range of a known advisory.
	StatusVulnerable Status = "vulnerable"
	// StatusAbandoned: not current, and neither its code nor its content
	// changed for the configured time (web.abandoned_after).
	StatusAbandoned Status = "abandoned"
	// StatusEOL: its release cycle no longer gets security fixes.
	StatusEOL Status = "end-of-life"
	// StatusOutdated: a newer release of its own cycle exists.
	StatusOutdated Status = "outdated"
	// StatusCurrent: the latest release of a supported cycle as known to the
	// version data (or newer than the data knows), and no advisory matches.
	// "Current" is judged against the data file's figures, not against
	// releases published after its date; end-of-life dates are compared with
	// today, since a cycle's end is a calendar fact.
	StatusCurrent Status = "current"
	// StatusUnknown: the version could not be read, or the data does not
	// know this app or cycle.
	StatusUnknown Status = "unknown"
)

// Verdict is the rating of one version of one app.
type Verdict struct {
	Status     Status
	Advisories []string // ids of the advisories whose ranges contain it
	Cycle      string
	Latest     string // latest release of its cycle
	EOL        string // end of the cycle's security support, if known
	EOLPassed  bool
}

// Rate rates version of app at now.
func (d *Data) Rate(app, version string, now time.Time) Verdict {
	a := d.Apps[app]
	v, ok := ParseVersion(version)
	if a == nil || !ok {
		return Verdict{Status: StatusUnknown}
	}
	var out Verdict
	for _, adv := range a.Advisories {
		for i := range adv.Ranges {
			if adv.Ranges[i].Contains(v) {
				out.Advisories = append(out.Advisories, adv.ID)
				break
			}
		}
	}
	var cyc *Cycle
	for _, c := range a.Cycles {
		if v.HasPrefix(c.cycle) {
			cyc = c
			break
		}
	}
	if cyc != nil {
		out.Cycle, out.Latest, out.EOL = cyc.Cycle, cyc.Latest, cyc.EOL
		out.EOLPassed = cyc.EOL != "" && !now.Before(cyc.eol)
	}
	switch {
	case len(out.Advisories) > 0:
		out.Status = StatusVulnerable
	case cyc == nil:
		out.Status = d.rateUnknownCycle(a, v)
	case out.EOLPassed:
		out.Status = StatusEOL
	case v.Compare(cyc.latest) < 0:
		out.Status = StatusOutdated
	default:
		out.Status = StatusCurrent
	}
	return out
}

// rateUnknownCycle handles a version whose cycle the data does not list:
// older than every cycle means long dead; newer than every cycle means a
// release after the data date, which we cannot judge.
func (d *Data) rateUnknownCycle(a *AppData, v Version) Status {
	oldest, newest := Version{}, Version{}
	for i, c := range a.Cycles {
		if i == 0 || c.cycle.Compare(oldest) < 0 {
			oldest = c.cycle
		}
		if i == 0 || c.latest.Compare(newest) > 0 {
			newest = c.latest
		}
	}
	switch {
	case len(a.Cycles) == 0:
		return StatusUnknown
	case v.Compare(oldest) < 0:
		return StatusEOL
	case v.Compare(newest) > 0:
		return StatusCurrent
	}
	return StatusUnknown
}

// AdvisoriesFor returns the advisories of app that attack (an access-log
// rule) exploits.
func (d *Data) AdvisoriesFor(app, attack string) []string {
	a := d.Apps[app]
	if a == nil {
		return nil
	}
	var ids []string
	for _, adv := range a.Advisories {
		if adv.Attack == attack {
			ids = append(ids, adv.ID)
		}
	}
	return ids
}
