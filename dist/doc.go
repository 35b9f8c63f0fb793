// Package dist holds what vigie ships beside its binary: the systemd unit,
// the Debian packaging (debian/, built by scripts/build-deb.sh), the
// Prometheus alerting rules and the Grafana dashboard. Its tests build the
// package, install it, run it as the vigie user and remove it, check the
// rules with promtool, and check that every expression of the rules and
// the dashboard names a metric a running vigie exports.
package dist
