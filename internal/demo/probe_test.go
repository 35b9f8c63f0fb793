package demo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store/sqlite"
)

func TestProbe(t *testing.T) {
	now := time.Now()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/v.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, sc := range Scenarios() {
		t0 := time.Now()
		dir := t.TempDir()
		res, err := sc.Run(context.Background(), &Env{Now: now, Dir: dir, Store: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %v: %d findings %d samples", sc.Name, time.Since(t0), len(res.Findings), len(res.Samples))
		counts := map[string]int{}
		for _, f := range res.Findings {
			counts[f.Watch+" "+f.Rule+" "+f.Subject+" "+f.Severity.String()+" g="+f.Group]++
		}
		if len(counts) < 20 {
			t.Log(counts)
		}
		if os.Getenv("V") != "" {
			for _, f := range res.Findings[:min(5, len(res.Findings))] {
				t.Logf("%+v", f)
			}
		}
	}
}
