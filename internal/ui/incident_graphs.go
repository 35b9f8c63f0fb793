package ui

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/vigie"
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
		if i >= maxSubjectGraphs {
			continue
		}
		def := seriesDef{Series: mail.SeriesAccountMessages, Title: "Messages sent by " + m.Account, Unit: "per min"}
		g, err := s.graphBetween(ctx, def, []string{m.Account}, start, end, func(g *Graph) {
			g.Band = habitBand(rep, m.Account)
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
	q, err := s.graphBetween(ctx, seriesDef{Series: queueSeries.Series, Title: "Mail queue", Unit: "messages"},
		[]string{"total", "deferred", "hold"}, from, to, nil)
	if err != nil {
		return nil, err
	}
	if !q.Empty() {
		out = append(out, q)
	}
	return out, nil
}

// habitBand is what the mail watch considers normal for the account, per
// minute: up to the limit its account-volume alert compares with (the
// floor, or its habit times the habit factor), from the alert's evidence.
func habitBand(rep *incident.Report, account string) *GraphBand {
	for _, a := range rep.Alerts {
		if a.Watch != mail.WatchName || a.Rule != mail.RuleAccountVolume || a.Subject != account {
			continue
		}
		limit, err := strconv.ParseFloat(a.Evidence[mail.EvidenceLimit], 64)
		if err != nil || limit <= 0 || math.IsInf(limit, 0) {
			return nil
		}
		per := map[string]float64{"minute": 1, "hour": 60, "day": 1440}[a.Evidence[mail.EvidenceWindow]]
		if per == 0 {
			return nil
		}
		habit := a.Evidence[mail.EvidenceHabit]
		return &GraphBand{Low: 0, High: limit / per, Label: fmt.Sprintf("habit band: up to %s a minute (limit %s a %s, habit %s)",
			humanNumber(limit/per), humanNumber(limit), a.Evidence[mail.EvidenceWindow], habit)}
	}
	return nil
}

// graphBetween is graph over an explicit span; decorate adds the band and
// marks before the layout.
func (s *Server) graphBetween(ctx context.Context, def seriesDef, subjects []string, from, to time.Time, decorate func(*Graph)) (*Graph, error) {
	g := &Graph{Title: def.Title, Series: def.Series, Unit: def.Unit, Range: "incident", From: from, To: to}
	for _, sub := range subjects {
		samples, err := s.o.Store.Samples(ctx, def.Series, sub, from, to)
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
