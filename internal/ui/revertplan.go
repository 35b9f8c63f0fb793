package ui

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/vigie/vigie/internal/dnswatch"
)

// revertPlan serves an incident's DNS revert plan as a download:
// ?format=csv (the default) or json, the same rows as
// `vigie dns revert-plan --incident N`.
func (s *Server) revertPlan(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		writeError(w, http.StatusBadRequest, "format must be csv or json")
		return
	}
	if _, err := s.o.Store.Incident(r.Context(), id); err != nil {
		status, msg := s.errorStatus(err, "incident")
		writeError(w, status, msg)
		return
	}
	rows, err := dnswatch.RevertPlan(r.Context(), s.o.Store, id)
	if err != nil {
		status, msg := s.errorStatus(err, "revert plan")
		writeError(w, status, msg)
		return
	}
	var buf bytes.Buffer
	if err := dnswatch.WriteRevertPlan(&buf, format, rows); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	ctype := "text/csv; charset=utf-8"
	if format == "json" {
		ctype = "application/x-ndjson"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"vigie-incident-%d-revert-plan.%s\"", id, format))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
