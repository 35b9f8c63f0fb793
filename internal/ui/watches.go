package ui

// What the pages know of the watches comes from their descriptors
// (Options.Watches, internal/watches by default): each watch's title, the
// series its page draws, its own panels and which of its alerts offer hold
// and release. Nothing here names a watch.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

const perSubjectLines = 5

// findWatch returns the descriptor of the watch named name, or one with
// just that name (a watch that wrote to the store and is no longer known).
func (s *Server) findWatch(name string) *watch.Descriptor {
	if d := s.o.Watches.Find(name); d != nil {
		return d
	}
	return &watch.Descriptor{Name: watch.Name(name), Title: name}
}

// overviewSeries is the series the overview draws: the first one a watch
// marks Overview (the mail queue); nil when none does.
func (s *Server) overviewSeries() *watch.Series {
	for _, d := range s.o.Watches {
		for i := range d.Series {
			if d.Series[i].Overview {
				return &d.Series[i]
			}
		}
	}
	return nil
}

// holdAccount is the account an alert is about, for the hold and release
// buttons: its watch's HoldAccount; "" when its watch offers none.
func (s *Server) holdAccount(a apiAlert) string {
	d := s.o.Watches.Find(a.Watch)
	if d == nil || d.HoldAccount == nil {
		return ""
	}
	return d.HoldAccount(a.Subject, a.Evidence)
}

// offersHolds says whether the watch's alerts offer hold and release.
func (s *Server) offersHolds(name string) bool {
	d := s.o.Watches.Find(name)
	return d != nil && d.HoldAccount != nil
}

// panelValue is one panel on a watch page: its template's name in the
// page's template set and what it draws.
type panelValue struct {
	Template string
	Key      string
	Data     any
}

// panels computes the watch's panels from its active alerts.
func (s *Server) panels(ctx context.Context, d *watch.Descriptor, alerts []vigie.Alert) ([]panelValue, error) {
	in := watch.PanelInput{Alerts: alerts, Now: s.o.Now(),
		State: func(ctx context.Context, key string) ([]byte, error) {
			return s.o.Store.GetState(ctx, string(d.Name), key)
		}}
	if s.o.Mail != nil {
		in.Held = s.o.Mail.Held
	}
	var out []panelValue
	for i, p := range d.Panels {
		if p.Data == nil {
			continue
		}
		v, err := p.Data(ctx, in)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, panelValue{Template: panelTemplateName(d.Name, i), Key: p.Key, Data: v})
		}
	}
	return out, nil
}

func panelTemplateName(w watch.Name, i int) string { return fmt.Sprintf("panel %s %d", w, i) }

// panelTemplates defines each watch's panel templates and "panel", which
// draws a panelRun by its template's name (html/template cannot call a
// template by a name known only when the page runs).
func panelTemplates(ws watch.List) string {
	var defs, dispatch strings.Builder
	dispatch.WriteString(`{{define "panel"}}`)
	for _, d := range ws {
		for i, p := range d.Panels {
			name := panelTemplateName(d.Name, i)
			fmt.Fprintf(&defs, "{{define %q}}%s{{end}}\n", name, p.Template)
			fmt.Fprintf(&dispatch, `{{if eq .Template %q}}{{template %q .View}}{{end}}`, name, name)
		}
	}
	dispatch.WriteString(`{{end}}`)
	return defs.String() + dispatch.String()
}

// panelRun is what the "panel" template gets.
type panelRun struct {
	Template string
	View     watch.PanelView
}

// marshalPanels writes the panels as fields of the JSON object obj (the
// watch page's), keyed by Panel.Key, after its own fields.
func marshalPanels(obj []byte, ps []panelValue) ([]byte, error) {
	if len(ps) == 0 {
		return obj, nil
	}
	out := append([]byte(nil), obj[:len(obj)-1]...) // without the closing brace
	for _, p := range ps {
		k, err := json.Marshal(p.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(p.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, ',')
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}
