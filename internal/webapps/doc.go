// Package webapps is vigie's web watch. It inventories the CMS installs it
// finds on disk (WordPress, Drupal, Joomla, Nextcloud, ...) from their
// version files alone, never by HTTP or by running PHP; it rates each
// install against version data shipped with vigie (release cycles,
// end-of-life dates, latest versions, known-vulnerable ranges); and it
// reads web access logs for exploitation requests and floods on one page.
//
// The access-log detectors are a plain API (LogDetector.FeedLine) whose
// clock is the log line's own time, so `vigie replay` runs them on old logs.
package webapps
