package config

import _ "embed"

// Example is the complete, commented configuration printed by
// `vigie config example`. Its values are the defaults.
//
//go:embed example.yaml
var Example []byte
