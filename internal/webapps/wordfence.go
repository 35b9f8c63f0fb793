package webapps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The Wordfence Intelligence vulnerability data feed (v2, production or
// scanner) is a JSON object of records keyed by id:
//
//	{"<uuid>": {"id": ..., "title": ..., "cve": "CVE-...", "references": [...],
//	  "software": [{"type": "plugin"|"theme"|"core", "slug": ...,
//	    "affected_versions": {"* - 4.0.2": {"from_version": "*", "from_inclusive": true,
//	      "to_version": "4.0.2", "to_inclusive": true}}, "patched_versions": [...]}], ...}}
//
// It is free for personal and commercial use under Defiant's licence,
// which asks that a copy keep a hyperlink to each record and Defiant's
// copyright designation (and MITRE's for CVE text): the converted
// advisories keep the record's link, and the data's notes the notices.
type wfRecord struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	CVE        string       `json:"cve"`
	References []string     `json:"references"`
	Software   []wfSoftware `json:"software"`
}

type wfSoftware struct {
	Type     string                `json:"type"`
	Slug     string                `json:"slug"`
	Affected map[string]wfAffected `json:"affected_versions"`
}

type wfAffected struct {
	From          string `json:"from_version"`
	FromInclusive bool   `json:"from_inclusive"`
	To            string `json:"to_version"`
	ToInclusive   bool   `json:"to_inclusive"`
}

// WordfenceNotice is the copyright designation and licence the feed's
// records carry, kept in the data's notes when they are imported.
const WordfenceNotice = "Plugin and theme advisories from the Wordfence Intelligence vulnerability data feed: Copyright 2012-2025 Defiant Inc., licensed under https://www.wordfence.com/wordfence-intelligence-terms-and-conditions/ (each advisory links its record); CVE text Copyright 1999-2025 The MITRE Corporation, https://www.cve.org/Legal/TermsOfUse."

// maxWordfenceRecords bounds an import (the full feed has some 30,000).
const maxWordfenceRecords = 500_000

// ImportWordfence reads a Wordfence v2 feed and returns its plugin and
// theme advisories by kind and slug. It streams the feed (it is large)
// and skips, counting them, records it cannot use (no slug, a version it
// cannot read). Core records are left out: the core's advisories come
// with its release cycles.
func ImportWordfence(r io.Reader) (map[ExtensionKind]map[string][]*Advisory, int, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, 0, fmt.Errorf("wordfence feed: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, 0, errors.New("wordfence feed: expected a JSON object of records")
	}
	out := map[ExtensionKind]map[string][]*Advisory{}
	skipped, n := 0, 0
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the record's key
			return nil, skipped, fmt.Errorf("wordfence feed: %w", err)
		}
		var rec wfRecord
		if err := dec.Decode(&rec); err != nil {
			return nil, skipped, fmt.Errorf("wordfence feed, record %d: %w", n+1, err)
		}
		if n++; n > maxWordfenceRecords {
			return nil, skipped, fmt.Errorf("wordfence feed: more than %d records", maxWordfenceRecords)
		}
		for _, sw := range rec.Software {
			var kind ExtensionKind
			switch sw.Type {
			case "plugin":
				kind = KindWPPlugin
			case "theme":
				kind = KindWPTheme
			default:
				continue
			}
			adv, ok := wfAdvisory(&rec, &sw)
			if !ok {
				skipped++
				continue
			}
			if out[kind] == nil {
				out[kind] = map[string][]*Advisory{}
			}
			out[kind][sw.Slug] = append(out[kind][sw.Slug], adv)
		}
	}
	for _, projects := range out {
		for _, advs := range projects {
			sort.Slice(advs, func(i, j int) bool { return advs[i].ID < advs[j].ID })
		}
	}
	return out, skipped, nil
}

func wfAdvisory(rec *wfRecord, sw *wfSoftware) (*Advisory, bool) {
	if sw.Slug == "" || len(sw.Slug) > 100 || strings.ContainsAny(sw.Slug, "/\\ \t\n") || rec.ID == "" {
		return nil, false
	}
	adv := &Advisory{ID: rec.CVE, Summary: clipString(rec.Title, 300)}
	if adv.ID == "" {
		adv.ID = "wordfence:" + rec.ID
	} else {
		adv.Aliases = []string{"wordfence:" + rec.ID}
	}
	if len(rec.References) > 0 {
		adv.URL = rec.References[0]
	}
	keys := make([]string, 0, len(sw.Affected))
	for k := range sw.Affected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := sw.Affected[k]
		rg := Range{Introduced: "0"}
		if a.From != "*" && a.From != "" {
			// An exclusive lower bound has no form here; the inclusive one
			// errs on the side of reporting.
			rg.Introduced = a.From
		}
		switch {
		case a.To == "*" || a.To == "":
			rg.LastAffected = "999999" // every version: not patched
		case a.ToInclusive:
			rg.LastAffected = a.To
		default:
			rg.Fixed = a.To
		}
		if rg.parseExt(KindWPPlugin) != nil {
			return nil, false
		}
		adv.Ranges = append(adv.Ranges, rg)
	}
	return adv, len(adv.Ranges) > 0
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MergeExtensions replaces d's advisories of the kinds in ext by ext's.
func (d *Data) MergeExtensions(ext map[ExtensionKind]map[string][]*Advisory, notice string) {
	if d.Extensions == nil {
		d.Extensions = map[ExtensionKind]map[string][]*Advisory{}
	}
	for kind, projects := range ext {
		d.Extensions[kind] = projects
	}
	if notice != "" && !strings.Contains(d.Notes, notice) {
		if d.Notes != "" {
			d.Notes += " "
		}
		d.Notes += notice
	}
}
