package vigie

import "fmt"

// Severity orders findings and alerts. The zero value is invalid so that a
// watch that forgets to set it is caught by Finding.Validate.
type Severity int

const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityInfo:     "info",
	SeverityWarning:  "warning",
	SeverityCritical: "critical",
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Valid reports whether s is one of the defined severities.
func (s Severity) Valid() bool { _, ok := severityNames[s]; return ok }

// ParseSeverity is the inverse of String.
func ParseSeverity(text string) (Severity, error) {
	for s, n := range severityNames {
		if n == text {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (expected info, warning or critical)", text)
}

func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
