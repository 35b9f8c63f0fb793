//go:build !linux

package cli

import "time"

// monotonic: systemd runs on Linux only; elsewhere there is nobody to tell.
func monotonic() time.Duration { return 0 }
