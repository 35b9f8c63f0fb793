package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/vigie/vigie/internal/vigie"
)

// Every action goes through action(): the guard has checked the session
// and the CSRF token; the action writes the audit log with the user and,
// when it concerns an incident, its timeline. A form gets a redirect back,
// the API a JSON result.

// actionFunc does one action for actor with the request's parameters and
// returns where a form should go back to and what to say.
type actionFunc func(ctx context.Context, actor string, r *http.Request, in params) (back string, result any, err error)

// params are an action's inputs, from a form or a JSON body.
type params map[string]string

const maxNote = 4000

func (s *Server) action(do actionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := params{}
		if isJSON(r) {
			var raw map[string]any
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
				writeError(w, http.StatusBadRequest, "the body must be a JSON object")
				return
			}
			for k, v := range raw {
				in[k] = fmt.Sprint(v)
			}
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			for k := range r.PostForm {
				in[k] = r.PostForm.Get(k)
			}
		}
		p := principalOf(r.Context())
		back, result, err := do(r.Context(), p.user, r, in)
		if err != nil {
			status, msg := s.errorStatus(err, "action")
			if isAPI(r) {
				writeError(w, status, msg)
				return
			}
			s.render(w, r, status, "error", errorView{status, msg}, p)
			return
		}
		if isAPI(r) {
			writeJSON(w, http.StatusOK, result)
			return
		}
		if b := in["back"]; b != "" {
			back = b
		}
		http.Redirect(w, r, safeNext(back), http.StatusSeeOther)
	})
}

func (s *Server) needPipeline() error {
	if s.o.Pipeline == nil {
		return &httpError{http.StatusServiceUnavailable, "actions are not available: no alert pipeline"}
	}
	return nil
}

func incidentPath(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

// incidentAction runs one of the pipeline's incident lifecycle methods,
// which audit (failures too) and write the timeline; a refusal such as
// acknowledging a resolved incident is a 409.
func (s *Server) incidentAction(ctx context.Context, r *http.Request, do func(id int64) (any, error)) (string, any, error) {
	if err := s.needPipeline(); err != nil {
		return "", nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.o.Store.Incident(ctx, id); err != nil {
		return "", nil, err
	}
	out, err := do(id)
	if err != nil {
		return "", nil, &httpError{http.StatusConflict, err.Error()}
	}
	return incidentPath(id), out, nil
}

// ackIncident acknowledges the incident and its firing alerts.
func (s *Server) ackIncident(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	return s.incidentAction(ctx, r, func(id int64) (any, error) {
		inc, err := s.o.Pipeline.AcknowledgeIncident(ctx, id, actor)
		return toAPIIncident(inc), err
	})
}

// resolveIncident resolves the incident and its active alerts; a later
// finding re-opens it: that is the point.
//
// With legitimate=1 ("Resolve as legitimate"), the watches that learn from
// it (their descriptor's LearnLegitimate: the mail watch, the periods of its
// volume alerts as the senders' habit) learn the incident's alerts.
func (s *Server) resolveIncident(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	return s.incidentAction(ctx, r, func(id int64) (any, error) {
		note := strings.TrimSpace(in["note"])
		if in["legitimate"] == "1" {
			subjects, err := s.o.Watches.LearnLegitimate(ctx, s.o.Store, id, actor, s.o.Now())
			if err != nil {
				return nil, err
			}
			if len(subjects) == 0 {
				return nil, fmt.Errorf("incident %d has no mail volume alert to learn as legitimate", id)
			}
			note = strings.TrimSpace(fmt.Sprintf("marked legitimate: the mail of %s is learned as habit. %s", strings.Join(subjects, ", "), note))
		}
		inc, err := s.o.Pipeline.ResolveIncident(ctx, id, actor, note)
		return toAPIIncident(inc), err
	})
}

func (s *Server) noteIncident(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	text := strings.TrimSpace(in["text"])
	if text == "" || len(text) > maxNote {
		return "", nil, badRequest("a note is 1 to %d characters", maxNote)
	}
	return s.incidentAction(ctx, r, func(id int64) (any, error) {
		return map[string]string{"result": "ok"}, s.o.Pipeline.AddNote(ctx, id, actor, text)
	})
}

func (s *Server) ackAlert(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	if err := s.needPipeline(); err != nil {
		return "", nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.o.Store.Alert(ctx, id); err != nil {
		return "", nil, err
	}
	a, err := s.o.Pipeline.Acknowledge(ctx, id, actor) // audits and records the timeline
	if err != nil {
		return "", nil, &httpError{http.StatusConflict, err.Error()}
	}
	return "/alerts/" + strconv.FormatInt(id, 10), toAPIAlert(a), nil
}

func (s *Server) mailHold(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	return s.mailAction(ctx, actor, in, vigie.ActionMailHold, func(acc string, alertID int64) error { return s.o.Mail.Hold(ctx, actor, acc, alertID) })
}

func (s *Server) mailRelease(ctx context.Context, actor string, r *http.Request, in params) (string, any, error) {
	return s.mailAction(ctx, actor, in, vigie.ActionMailRelease, func(acc string, alertID int64) error { return s.o.Mail.Release(ctx, actor, acc, alertID) })
}

// mailAction holds or releases one account's mail; the implementation
// records it (audit log, incident timeline), linked to alert_id when given.
func (s *Server) mailAction(ctx context.Context, actor string, in params, action string, do func(string, int64) error) (string, any, error) {
	if s.o.Mail == nil {
		return "", nil, &httpError{http.StatusServiceUnavailable, "mail actions are not available: no mail or policy watch runs"}
	}
	acc := strings.TrimSpace(in["account"])
	if err := checkAccount(acc); err != nil {
		return "", nil, err
	}
	var alertID int64
	if id := in["alert_id"]; id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return "", nil, badRequest("alert_id must be a number")
		}
		if _, err = s.o.Store.Alert(ctx, n); err != nil {
			return "", nil, err
		}
		alertID = n
	}
	if err := do(acc, alertID); err != nil {
		return "", nil, &httpError{http.StatusBadGateway, fmt.Sprintf("%s %s: %v", action, acc, err)}
	}
	return "/watches/mail", map[string]string{"result": "ok", "account": acc, "action": action}, nil
}

// checkAccount accepts what a SASL login or a sender can be, without
// control characters; it is passed as one argument, never to a shell.
func checkAccount(acc string) error {
	if acc == "" || len(acc) > 320 {
		return badRequest("account must be 1 to 320 characters")
	}
	for _, r := range acc {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return badRequest("account must not contain spaces or control characters")
		}
	}
	return nil
}
