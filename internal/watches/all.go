// Package watches is the one list of the watches vigie ships. The app
// builds them from it; the CLI, the dashboard, the incident reports and the
// alert grouping read their descriptors from it. A new watch is one line
// here (docs/adding-a-watch.md).
package watches

import (
	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/watch"
	"github.com/vigie/vigie/internal/webapps"
)

// All returns the descriptors of every watch vigie ships, in the order the
// dashboard lists them and the app builds them. Each call returns fresh
// descriptors: a caller may not change what another sees.
func All() watch.List {
	return watch.List{
		mail.Descriptor(),
		policy.Descriptor(),
		dnswatch.Descriptor(),
		ct.Descriptor(),
		webapps.Descriptor(),
		blocklist.Descriptor(),
	}
}
