// Package vigie holds the domain types every part of vigie speaks in:
// findings that watches emit, the alerts and incidents they become, the
// timeline of an incident, time series samples and the audit log.
//
// It has no dependencies beyond the standard library, so that watches,
// the alert pipeline, the stores and the dashboard can all import it
// without importing each other.
package vigie
