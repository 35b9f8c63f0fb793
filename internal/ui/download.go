package ui

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/vigie/vigie/internal/watch"
)

// download serves one of an incident's downloads that a watch offers
// (watch.Report.Downloads: the DNS revert plan), ?format= one of its
// formats (the first by default): the same rows as its CLI command
// (`vigie dns revert-plan --incident N`).
func (s *Server) download(dl watch.Download) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		format := r.URL.Query().Get("format")
		if format == "" {
			format = dl.Formats[0].Name
		}
		var f *watch.Format
		names := ""
		for i := range dl.Formats {
			if dl.Formats[i].Name == format {
				f = &dl.Formats[i]
			}
			if names != "" {
				names += " or "
			}
			names += dl.Formats[i].Name
		}
		if f == nil {
			writeError(w, http.StatusBadRequest, "format must be "+names)
			return
		}
		if _, err := s.o.Store.Incident(r.Context(), id); err != nil {
			status, msg := s.errorStatus(err, "incident")
			writeError(w, status, msg)
			return
		}
		var buf bytes.Buffer
		if err := dl.Write(r.Context(), s.o.Store, id, f.Name, &buf); err != nil {
			status, msg := s.errorStatus(err, dl.Name)
			writeError(w, status, msg)
			return
		}
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"vigie-incident-%d-%s.%s\"", id, dl.Name, f.Name))
		w.Header().Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	}
}
