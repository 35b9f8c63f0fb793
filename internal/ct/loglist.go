package ct

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/config"
)

// logListV3 is the part of the log list format (Google's and Apple's
// log_list.json, schema v3) vigie reads.
type logListV3 struct {
	Operators []struct {
		Name string `json:"name"`
		Logs []struct {
			Description string          `json:"description"`
			Key         string          `json:"key"`
			URL         string          `json:"url"`
			State       map[string]any  `json:"state"`
			Temporal    json.RawMessage `json:"temporal_interval"`
		} `json:"logs"`
		TiledLogs []struct {
			Description   string         `json:"description"`
			Key           string         `json:"key"`
			SubmissionURL string         `json:"submission_url"`
			MonitoringURL string         `json:"monitoring_url"`
			State         map[string]any `json:"state"`
		} `json:"tiled_logs"`
	} `json:"operators"`
}

// followable says whether a log in this state still gets new entries worth
// reading: usable, qualified or read-only (frozen logs keep serving).
func followable(state map[string]any, all bool) bool {
	if all {
		return true
	}
	for _, s := range []string{"usable", "qualified", "readonly"} {
		if _, ok := state[s]; ok {
			return true
		}
	}
	return false
}

// ParseLogList reads a log list JSON file and returns its logs: the
// usable, qualified and read-only ones, or all of them when all is true.
func ParseLogList(data []byte, all bool) ([]config.CTLog, error) {
	var ll logListV3
	if err := json.Unmarshal(data, &ll); err != nil {
		return nil, fmt.Errorf("not a log list (v3 JSON): %w", err)
	}
	var out []config.CTLog
	for _, op := range ll.Operators {
		for _, l := range op.Logs {
			if !followable(l.State, all) || l.URL == "" || l.Key == "" {
				continue
			}
			out = append(out, config.CTLog{Name: l.Description, URL: l.URL, Key: l.Key, API: "rfc6962"})
		}
		for _, l := range op.TiledLogs {
			if !followable(l.State, all) || l.MonitoringURL == "" || l.Key == "" {
				continue
			}
			origin := strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(l.SubmissionURL, "https://"), "http://"), "/")
			out = append(out, config.CTLog{Name: l.Description, URL: l.MonitoringURL, Key: l.Key, API: "static", Origin: origin})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the log list has no usable log")
	}
	for _, l := range out {
		if _, err := ParseLogKey(l.Key); err != nil {
			return nil, fmt.Errorf("log %q: %w", l.Name, err)
		}
	}
	return out, nil
}
