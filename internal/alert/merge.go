package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Merge moves every alert of the incidents from into incident into, when
// an admin sees they are one attack the rules did not join. The timelines
// of the merged incidents are copied into into's (each entry marked with
// where it came from); the merged incidents are resolved with a pointer to
// into, and their groups point at into from then on, so that later alerts
// of those groups join into.
func (p *Pipeline) Merge(ctx context.Context, into int64, from []int64, actor string) (vigie.Incident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, lerr := p.incidentLocks(ctx, append([]int64{into}, from...)...)
	if lerr != nil {
		return vigie.Incident{}, lerr
	}
	defer unlock()
	var out vigie.Incident
	err := p.audited(ctx, actor, "incident.merge", fmt.Sprint(into), "from "+joinIDs(from), func(now time.Time) error {
		if len(from) == 0 {
			return errors.New("nothing to merge: name the incidents to merge into this one")
		}
		s := p.o.Store
		target, err := s.Incident(ctx, into)
		if err != nil {
			return err
		}
		var moved []vigie.Alert
		for _, id := range from {
			if id == into {
				return fmt.Errorf("cannot merge incident %d into itself", id)
			}
			src, err := s.Incident(ctx, id)
			if err != nil {
				return err
			}
			if v, err := s.GetState(ctx, stateSpace, mergedKey(id)); err == nil {
				return fmt.Errorf("incident %d was already merged into incident %s", id, v)
			}
			as, err := p.moveAlerts(ctx, id, into, nil)
			if err != nil {
				return err
			}
			moved = append(moved, as...)
			if err := p.copyTimeline(ctx, id, into, nil, fmt.Sprintf("[from #%d] ", id)); err != nil {
				return err
			}
			if err := p.putIndex(ctx, groupIndexKey(src.Key), into); err != nil {
				return err
			}
			if err := s.PutState(ctx, stateSpace, mergedKey(id), formatID(into)); err != nil {
				return err
			}
			if _, err := s.UpdateIncident(ctx, id, func(in *vigie.Incident) error {
				in.State = vigie.IncidentResolved
				if in.ResolvedAt.IsZero() {
					in.ResolvedAt = now
				}
				return nil
			}); err != nil {
				return err
			}
			if err := p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineState, Actor: actor,
				Text: fmt.Sprintf("merged into incident #%d by %s (%d alerts moved)", into, actor, len(as)),
				Data: map[string]string{"merged_into": fmt.Sprint(into)}}); err != nil {
				return err
			}
			if src.OpenedAt.Before(target.OpenedAt) {
				target.OpenedAt = src.OpenedAt
			}
			if src.Severity > target.Severity {
				target.Severity = src.Severity
			}
		}
		out, err = s.UpdateIncident(ctx, into, func(in *vigie.Incident) error {
			in.OpenedAt, in.Severity = target.OpenedAt, target.Severity
			if in.State == vigie.IncidentResolved && anyActive(moved) {
				in.State, in.ResolvedAt = vigie.IncidentOpen, time.Time{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: into, Time: now, Kind: vigie.TimelineState, Actor: actor,
			Text: fmt.Sprintf("%s merged incidents %s into this one (%d alerts moved)", actor, joinIDs(from), len(moved)),
			Data: map[string]string{"merged_from": joinIDs(from)}})
	})
	return out, err
}

// Split moves some alerts of incident from into a new incident, when an
// admin sees the rules joined two things that are not one attack. The
// timeline entries about those alerts are copied along. The moved alerts
// stay in the new incident while it is open.
func (p *Pipeline) Split(ctx context.Context, from int64, alertIDs []int64, actor string) (vigie.Incident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, lerr := p.incidentLocks(ctx, from)
	if lerr != nil {
		return vigie.Incident{}, lerr
	}
	defer unlock()
	var out vigie.Incident
	err := p.audited(ctx, actor, "incident.split", fmt.Sprint(from), "alerts "+joinIDs(alertIDs), func(now time.Time) error {
		s := p.o.Store
		if _, err := s.Incident(ctx, from); err != nil {
			return err
		}
		all, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: from, Limit: 100000})
		if err != nil {
			return err
		}
		var picked []vigie.Alert
		for _, id := range alertIDs {
			i := slices.IndexFunc(all, func(a vigie.Alert) bool { return a.ID == id })
			if i < 0 {
				return fmt.Errorf("alert %d is not in incident %d", id, from)
			}
			picked = append(picked, all[i])
		}
		if len(picked) == 0 {
			return errors.New("nothing to split: name the alerts to move out")
		}
		if len(picked) == len(all) {
			return fmt.Errorf("splitting every alert out would leave incident %d empty", from)
		}
		first := picked[0]
		sev, opened := first.Severity, first.FirstSeen
		for _, a := range picked {
			sev = max(sev, a.Severity)
			if a.FirstSeen.Before(opened) {
				opened = a.FirstSeen
			}
		}
		nw, err := s.UpdateIncident(ctx, 0, func(in *vigie.Incident) error {
			in.Key = fmt.Sprintf("split/%d/%s", from, first.Key)
			in.Title, in.Severity, in.OpenedAt = incidentTitle(&first), sev, opened
			in.State = vigie.IncidentOpen
			if !anyActive(picked) {
				in.State, in.ResolvedAt = vigie.IncidentResolved, now
			}
			return nil
		})
		if err != nil {
			return err
		}
		ids := map[int64]bool{}
		for _, a := range picked {
			ids[a.ID] = true
		}
		if _, err := p.moveAlerts(ctx, from, nw.ID, ids); err != nil {
			return err
		}
		if err := p.copyTimeline(ctx, from, nw.ID, ids, ""); err != nil {
			return err
		}
		if err := p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: nw.ID, Time: now, Kind: vigie.TimelineState, Actor: actor,
			Text: fmt.Sprintf("split from incident #%d by %s (alerts %s)", from, actor, joinIDs(alertIDs)),
			Data: map[string]string{"split_from": fmt.Sprint(from)}}); err != nil {
			return err
		}
		if err := p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: from, Time: now, Kind: vigie.TimelineState, Actor: actor,
			Text: fmt.Sprintf("%s split alerts %s out into incident #%d", actor, joinIDs(alertIDs), nw.ID),
			Data: map[string]string{"split_into": fmt.Sprint(nw.ID)}}); err != nil {
			return err
		}
		if _, err := p.resolveIncidentIfDone(ctx, from, now); err != nil {
			return err
		}
		out = nw
		return nil
	})
	return out, err
}

// moveAlerts points the alerts of incident from (those in only, when not
// nil) at incident to, and keeps the domain index right.
func (p *Pipeline) moveAlerts(ctx context.Context, from, to int64, only map[int64]bool) ([]vigie.Alert, error) {
	as, err := p.o.Store.ListAlerts(ctx, store.AlertQuery{IncidentID: from, Limit: 100000})
	if err != nil {
		return nil, err
	}
	var moved []vigie.Alert
	for _, a := range as {
		if only != nil && !only[a.ID] {
			continue
		}
		x, err := p.o.Store.UpdateAlert(ctx, a.Key, func(x *vigie.Alert) error { x.IncidentID = to; return nil })
		if err != nil {
			return moved, err
		}
		moved = append(moved, x)
		if err := p.indexDomains(ctx, &x, to); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// copyTimeline copies the timeline of incident from into incident to
// (only the entries about the alerts in only, when not nil).
func (p *Pipeline) copyTimeline(ctx context.Context, from, to int64, only map[int64]bool, prefix string) error {
	tl, err := p.o.Store.Timeline(ctx, from)
	if err != nil {
		return err
	}
	for _, e := range tl {
		if only != nil && !only[e.AlertID] {
			continue
		}
		data := map[string]string{"copied_from": fmt.Sprint(from)}
		for k, v := range e.Data {
			data[k] = v
		}
		e.ID, e.IncidentID, e.Text, e.Data = 0, to, prefix+e.Text, data
		if err := p.addTimeline(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func anyActive(as []vigie.Alert) bool {
	return slices.ContainsFunc(as, func(a vigie.Alert) bool { return a.State.Active() })
}

func mergedKey(id int64) string { return "merged/" + strconv.FormatInt(id, 10) }

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = "#" + strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
