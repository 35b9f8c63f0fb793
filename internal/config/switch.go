package config

import (
	"go.yaml.in/yaml/v3"
)

// Switch turns a watch on, off, or on only when its inputs exist on this
// machine (auto), which is what the embedded defaults use.
type Switch string

const (
	SwitchAuto Switch = "auto"
	SwitchOn   Switch = "on"
	SwitchOff  Switch = "off"
)

// On decides, given whether the watch's inputs were found.
func (s Switch) On(inputsPresent bool) bool {
	switch s {
	case SwitchOn:
		return true
	case SwitchOff:
		return false
	default:
		return inputsPresent
	}
}

// UnmarshalYAML accepts auto, on, off, true and false.
func (s *Switch) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "auto":
			*s = SwitchAuto
			return nil
		case "on", "true", "yes":
			*s = SwitchOn
			return nil
		case "off", "false", "no":
			*s = SwitchOff
			return nil
		}
	}
	return &lineError{n.Line, "expected auto, on or off"}
}
