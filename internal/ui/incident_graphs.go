package ui

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// maxSubjectGraphs bounds the per-account graphs of one incident page.
const maxSubjectGraphs = 3

// incidentGraphs are the graphs that tell a mail incident: each sending
// subject's rate from an hour before its detection to now (or its
// resolution), over its habit band, with the detection and the first
// containment marked; then the mail queue over the same span, deferred and
// held mail apart.
func (s *Server) incidentGraphs(ctx context.Context, rep *incident.Report) ([]*Graph, error) {
	out := []*Graph{}
	if len(rep.Story.Mail) == 0 {
		return out, nil
	}
	now := s.o.Now().UTC()
	var from, to time.Time
	for i, m := range rep.Story.Mail {
		start, end := m.Detected.Add(-incidentGraphPad), now
		if rep.Incident.State == vigie.IncidentResolved && !rep.Incident.ResolvedAt.IsZero() {
			end = rep.Incident.ResolvedAt.Add(incidentGraphPad)
		}
		if end.Before(m.LastSeen) {
			end = m.LastSeen.Add(incidentGraphPad)
		}
		if from.IsZero() || start.Before(from) {
			from = start
		}
		if end.After(to) {
			to = end
		}
		if i >= maxSubjectGraphs || m.Series == "" {
			continue
		}
		def := watch.Series{Name: m.Series, Title: "Messages sent by " + m.Account, Unit: "per min"}
		g, err := s.graphBetween(ctx, def, []string{m.Account}, start, end, func(g *Graph) {
			g.Band = habitBand(m)
			g.Marks = append(g.Marks, GraphMark{Time: m.Detected, Label: "detected"})
			if len(m.Containment) > 0 {
				g.Marks = append(g.Marks, GraphMark{Time: m.Containment[0].Time, Label: "contained (" + m.Containment[0].Data["action"] + ")"})
			}
		})
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	// The server's queue: the series the overview draws (its watch's).
	if qs := s.overviewSeries(); qs != nil {
		q, err := s.graphBetween(ctx, *qs, qs.Subjects, from, to, nil)
		if err != nil {
			return nil, err
		}
		if !q.Empty() {
			out = append(out, q)
		}
	}
	return out, nil
}

// habitBand is what the mail watch considered normal for the account when
// it detected it, per minute: up to the limit its account-volume finding
// compared with (its habit times the habit factor, or the floor), from
// the finding that detected it.
func habitBand(m incident.MailStory) *GraphBand {
	if m.LimitPerMinute <= 0 || math.IsInf(m.LimitPerMinute, 0) || math.IsNaN(m.LimitPerMinute) {
		return nil
	}
	return &GraphBand{Low: 0, High: m.LimitPerMinute, Label: fmt.Sprintf("habit band: up to %s a minute (habit %s a minute)",
		humanNumber(m.LimitPerMinute), humanNumber(m.HabitPerMinute))}
}

// graphBetween is graph over an explicit span; decorate adds the band and
// marks before the layout.
func (s *Server) graphBetween(ctx context.Context, def watch.Series, subjects []string, from, to time.Time, decorate func(*Graph)) (*Graph, error) {
	g := &Graph{Title: def.Title, Series: string(def.Name), Unit: def.Unit, Range: "incident", From: from, To: to}
	for _, sub := range subjects {
		samples, err := s.o.Store.Samples(ctx, string(def.Name), sub, from, to)
		if err != nil {
			return nil, err
		}
		if len(samples) == 0 {
			continue
		}
		g.Lines = append(g.Lines, GraphLine{Subject: sub, Points: downsample(samples, from, to)})
	}
	if decorate != nil {
		decorate(g)
	}
	g.layout()
	return g, nil
}
