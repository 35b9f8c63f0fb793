package alert

import "github.com/vigie/vigie/internal/watches"

// shipped are the watches vigie ships: the tests' pipelines group by
// their descriptors, as the app's does.
var shipped = watches.All()
