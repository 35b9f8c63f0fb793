// Package store defines how vigie keeps its state, in domain words. The
// sqlite sub-package implements it for one machine, the postgres
// sub-package for several nodes sharing one database; the storetest
// package is the contract every implementation must pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// ErrNotFound is returned when an alert, incident or record does not exist.
var ErrNotFound = errors.New("not found")

// ErrNoChange may be returned by an update function to leave the record as
// it was; the store then returns it to the caller unchanged.
var ErrNoChange = errors.New("no change")

// Store is everything vigie persists.
type Store interface {
	Findings
	Alerts
	Incidents
	Series
	State
	Audit
	Leases
	Outbox
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// Outbox keeps every notification from the moment its alert changed until
// its receiver accepted it, so that a crash, a kill -9 or an OOM between
// the two loses nothing: the next start sends what is still waiting.
// Delivery is at least once; each item's Key lets a receiver drop a
// notification it already had.
type Outbox interface {
	// UpdateAlertNotify is UpdateAlert that also adds to the outbox, in
	// the same transaction, the items out returns for the saved alert (its
	// ID set). A crash therefore leaves both or neither.
	UpdateAlertNotify(ctx context.Context, key string, fn func(a *vigie.Alert) error,
		out func(a vigie.Alert) []OutboxItem) (vigie.Alert, error)
	// AddOutbox adds items outside an alert change (a notice about vigie
	// itself); it sets their IDs.
	AddOutbox(ctx context.Context, items []OutboxItem) error
	// PendingOutbox returns up to limit items of node and notifier that
	// are not done, oldest first.
	PendingOutbox(ctx context.Context, node, notifier string, limit int) ([]OutboxItem, error)
	// FinishOutbox marks items done at at with result ("sent", or why it
	// was given up); done items are never returned by PendingOutbox again.
	FinishOutbox(ctx context.Context, ids []int64, at time.Time, result string) error
	// DeleteOutboxBefore drops the items done before t; it returns how many.
	DeleteOutboxBefore(ctx context.Context, t time.Time) (int64, error)
}

// OutboxItem is one notification waiting for (or done with) one notifier.
type OutboxItem struct {
	ID       int64
	Node     string // the node that sends it: each node drains its own
	Notifier string
	// Key is unique per notification and stays the same on every try and
	// after restarts: the idempotency key receivers see.
	Key     string
	Created time.Time
	Payload []byte // the notification, encoded by the alert pipeline
	Done    time.Time
	Result  string
}

// Findings is the raw record of what the watches observed.
type Findings interface {
	AddFinding(ctx context.Context, f vigie.Finding, alertID int64) (int64, error)
	ListFindings(ctx context.Context, q FindingQuery) ([]StoredFinding, error)
}

// StoredFinding is a finding as it was recorded.
type StoredFinding struct {
	ID      int64
	AlertID int64
	vigie.Finding
}

// FindingQuery selects findings, newest first.
type FindingQuery struct {
	AlertID int64     // 0: any
	Watch   string    // "": any
	Since   time.Time // zero: any
	Limit   int       // 0: 100
}

// Alerts keeps de-duplicated alerts.
type Alerts interface {
	// UpdateAlert loads the alert with this key (ID 0 if there is none),
	// lets fn change it, and saves it, all in one transaction, so two
	// writers never lose each other's counts. fn must not block. If fn
	// returns an error nothing is saved and the error is returned.
	UpdateAlert(ctx context.Context, key string, fn func(a *vigie.Alert) error) (vigie.Alert, error)
	Alert(ctx context.Context, id int64) (vigie.Alert, error)
	ListAlerts(ctx context.Context, q AlertQuery) ([]vigie.Alert, error)
}

// AlertQuery selects alerts, most recently seen first.
type AlertQuery struct {
	States []vigie.AlertState // empty: any
	Watch  string
	// LastSeenBefore selects alerts not seen since then (zero: any).
	LastSeenBefore time.Time
	IncidentID     int64
	Limit          int // 0: 1000
}

// Incidents keeps incidents and their timelines.
type Incidents interface {
	// UpdateIncident is UpdateAlert for incidents, by id; id 0 creates one.
	UpdateIncident(ctx context.Context, id int64, fn func(in *vigie.Incident) error) (vigie.Incident, error)
	Incident(ctx context.Context, id int64) (vigie.Incident, error)
	// OpenIncident returns the newest incident with this key that is not
	// resolved, or ErrNotFound.
	OpenIncident(ctx context.Context, key string) (vigie.Incident, error)
	ListIncidents(ctx context.Context, q IncidentQuery) ([]vigie.Incident, error)
	AddTimeline(ctx context.Context, e vigie.TimelineEntry) (int64, error)
	Timeline(ctx context.Context, incidentID int64) ([]vigie.TimelineEntry, error)
}

// IncidentQuery selects incidents, newest first.
type IncidentQuery struct {
	States []vigie.IncidentState
	Limit  int // 0: 1000
}

// Series keeps time series samples for the graphs.
type Series interface {
	AddSamples(ctx context.Context, s []vigie.Sample) error
	// Samples returns the points of one series and subject in [from, to),
	// oldest first.
	Samples(ctx context.Context, series, subject string, from, to time.Time) ([]vigie.Sample, error)
	// DeleteSamplesBefore drops old points; it returns how many.
	DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error)
}

// State is a small key/value space per watch: a log cursor, a baseline.
type State interface {
	// GetState returns ErrNotFound when the key was never written.
	GetState(ctx context.Context, watch, key string) ([]byte, error)
	PutState(ctx context.Context, watch, key string, value []byte) error
	DeleteState(ctx context.Context, watch, key string) error
}

// Audit is the log of actions.
type Audit interface {
	AddAudit(ctx context.Context, e vigie.AuditEntry) (int64, error)
	ListAudit(ctx context.Context, q AuditQuery) ([]vigie.AuditEntry, error)
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Actor  string
	Action string
	Limit  int // 0: 1000
}

// Leases divide a sweep (the DNS or CT work) between the live nodes. The
// sweep is cut into a fixed number of shards (say, domains by hash modulo
// 64); each node claims some of them with an expiry, renews them every
// sweep, and releases them when it stops. A node that dies stops renewing:
// its shards are free once their leases expire and the next claim of
// another node takes them, so a dead node's share is taken over within one
// TTL plus one claim interval.
//
// On PostgreSQL claims skip the shards another node is claiming at the
// same moment (FOR UPDATE SKIP LOCKED), so nodes never wait for each other.
// On SQLite there is one node and it gets every shard it asks for.
type Leases interface {
	// ClaimShards renews the leases c.Node holds on c.Sweep, then claims
	// free or expired shards until it holds c.Max of them (0: all), all
	// until c.Now+c.TTL. If it held more than c.Max (a node joined and
	// the fair share shrank), the highest extra ones are released. It
	// returns the shards c.Node holds, in order.
	ClaimShards(ctx context.Context, c LeaseClaim) ([]int, error)
	// ReleaseShards frees every shard node holds on sweep and takes it
	// out of the sweep's nodes.
	ReleaseShards(ctx context.Context, sweep, node string) error
	// LeaseHolders returns the nodes taking part in sweep at now (those
	// whose last claim has not expired, holding shards or not: a node
	// that just joined holds none yet) and the shards each holds, in
	// order.
	LeaseHolders(ctx context.Context, sweep string, now time.Time) (map[string][]int, error)
}

// LeaseClaim asks for shards of one sweep.
type LeaseClaim struct {
	Sweep  string
	Node   string
	Shards int // the sweep is cut into shards 0..Shards-1
	Max    int // hold at most this many; 0: all
	TTL    time.Duration
	Now    time.Time
}

// FairShare is how many of shards a node should hold when nodes share
// them: the claimer computes it from LeaseHolders (counting itself) so
// that work spreads as nodes join: a new node claims and gets nothing
// free, the others see it and give back their extra shards at their next
// claim, and it takes them at its own.
func FairShare(shards, nodes int) int {
	if nodes < 1 {
		nodes = 1
	}
	return (shards + nodes - 1) / nodes
}

// Locker is implemented by stores that several nodes share (postgres). The
// alert pipeline takes the lock of an incident group around the work that
// decides which incident an alert joins, so that two nodes seeing two
// alerts of one group at once open one incident, not two. A store for one
// machine does not implement it: the pipeline's own mutex is enough.
type Locker interface {
	// Lock blocks until it holds the named locks against every other
	// holder on every node, and returns the function that releases them.
	// Callers take all the locks they need in one call, never one while
	// holding another, so that no two callers wait for each other.
	Lock(ctx context.Context, names ...string) (unlock func(), err error)
}

// SharedCounters is implemented by stores that several nodes share
// (postgres). The policy server keeps there the slots of its per-account
// sliding windows, each node its own rows, so that every node adds the
// other nodes' counts to its own and N nodes enforce one limit. A store
// for one machine does not implement it: the policy server then keeps
// its counters in its State records as before.
type SharedCounters interface {
	// PutCounts writes slots of node's windows. Values are absolute (the
	// slot's count so far, not an increment), so writing one twice is
	// harmless and a write cut by a failure can simply be run again.
	PutCounts(ctx context.Context, node string, slots []CountSlot) error
	// Counts returns the slots written since since (by the database's
	// clock), of every node but exceptNode ("": all), and the database's
	// time when the read began, from which the caller reads next (minus a
	// margin for writes that were committing meanwhile).
	Counts(ctx context.Context, exceptNode string, since time.Time) ([]CountSlot, time.Time, error)
	// DeleteCountsBefore drops the slots that left every window by t.
	DeleteCountsBefore(ctx context.Context, t time.Time) (int64, error)
	// AppendState appends value to a State record (creating it), so that
	// nodes adding lines to one record never overwrite each other's.
	AppendState(ctx context.Context, watch, key string, value []byte) error
}

// CountSlot is one slot of one node's sliding window of one subject.
type CountSlot struct {
	Node       string
	Subject    string
	Window     time.Duration
	Slot       int64 // Unix nanoseconds / (Window / slots): the same on every node
	Messages   uint32
	Recipients uint32
	Expires    time.Time // when the slot has left its window
}
