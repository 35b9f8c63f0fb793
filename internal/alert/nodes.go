package alert

import (
	"context"

	"github.com/vigie/vigie/internal/store"
)

// Several nodes on one database. p.mu keeps one node's changes apart; when
// the store is shared (it implements store.Locker: PostgreSQL), the work
// that decides and records an alert's incident is also done under the
// lock of its incident group, held across every node, so that two nodes
// firing two alerts of one group at once open one incident, and an admin's
// acknowledge, resolve, merge or split does not interleave with a node
// filing an alert of the same group. Rules 4 and 5 read other groups'
// incidents without their locks: across nodes, an alert fired in the same
// instant as the one it would join may open its own incident instead.
//
// On SQLite (one machine) there is no such lock and nothing changes.

// groupLocks takes the cross-node locks of groups, all at once. The
// returned function releases them; it is never nil.
func (p *Pipeline) groupLocks(ctx context.Context, groups ...string) (func(), error) {
	l, ok := p.o.Store.(store.Locker)
	if !ok || len(groups) == 0 {
		return func() {}, nil
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, "alert/group/"+g)
	}
	unlock, err := l.Lock(ctx, names...)
	if err != nil {
		return func() {}, err
	}
	return unlock, nil
}

// incidentLocks is groupLocks for the groups of incidents ids (those that
// exist; a missing one is reported by the caller's own lookup).
func (p *Pipeline) incidentLocks(ctx context.Context, ids ...int64) (func(), error) {
	if _, ok := p.o.Store.(store.Locker); !ok {
		return func() {}, nil
	}
	var groups []string
	for _, id := range ids {
		if in, err := p.o.Store.Incident(ctx, id); err == nil {
			groups = append(groups, in.Key)
		}
	}
	return p.groupLocks(ctx, groups...)
}
