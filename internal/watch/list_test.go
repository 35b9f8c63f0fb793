package watch

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/store"
)

func TestCheckDownloads(t *testing.T) {
	build := func(Deps) ([]Watch, error) { return nil, nil }
	write := func(context.Context, store.Alerts, int64, string, io.Writer) error { return nil }
	dl := func(name string) Download {
		return Download{Name: name, Formats: []Format{{Name: "csv", ContentType: "text/csv"}}, Write: write}
	}
	a := &Descriptor{Name: "a", Title: "A", Build: build, Report: &Report{Downloads: []Download{dl("plan")}}}
	b := &Descriptor{Name: "b", Title: "B", Build: build, Report: &Report{Downloads: []Download{dl("other")}}}
	if err := (List{a, b}).Check(); err != nil {
		t.Fatalf("a good list: %v", err)
	}
	if got := (List{a, b}).Downloads(); len(got) != 2 || got[0].Name != "plan" || got[1].Name != "other" {
		t.Errorf("Downloads: %+v", got)
	}
	for name, bad := range map[string]*Descriptor{
		"two incident downloads": {Name: "b", Title: "B", Build: build, Report: &Report{Downloads: []Download{dl("plan")}}},
		"without a slash":        {Name: "b", Title: "B", Build: build, Report: &Report{Downloads: []Download{dl("a/b")}}},
		"needs a name":           {Name: "b", Title: "B", Build: build, Report: &Report{Downloads: []Download{{Name: "x", Write: write}}}},
	} {
		if err := (List{a, bad}).Check(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("want an error with %q, got %v", name, err)
		}
	}
}
