package policy

import "time"

// slots is how many slots a window is cut into: a window of one minute
// counts per second, an hour per minute. A sliding window so cut is exact
// to one slot, and costs the same for every account whatever its rate.
const slots = 60

// A ring counts messages and recipients in one sliding window.
type ring struct {
	window time.Duration
	width  int64 // nanoseconds per slot
	head   int64 // absolute slot number of the newest slot
	msgs   [slots]uint32
	rcpts  [slots]uint32
	// totals over the slots, kept so a check is O(1)
	totalMsgs, totalRcpts uint64
}

func newRing(window time.Duration) *ring {
	w := int64(window) / slots
	if w <= 0 {
		w = 1
	}
	return &ring{window: window, width: w}
}

// advance moves the ring to time now (Unix nanoseconds), emptying the
// slots that fell out of the window. Time going backwards (a clock step)
// changes nothing.
func (r *ring) advance(now int64) {
	slot := now / r.width
	if slot <= r.head {
		return
	}
	if slot-r.head >= slots {
		r.msgs, r.rcpts = [slots]uint32{}, [slots]uint32{}
		r.totalMsgs, r.totalRcpts = 0, 0
	} else {
		for s := r.head + 1; s <= slot; s++ {
			i := s % slots
			r.totalMsgs -= uint64(r.msgs[i])
			r.totalRcpts -= uint64(r.rcpts[i])
			r.msgs[i], r.rcpts[i] = 0, 0
		}
	}
	r.head = slot
}

func (r *ring) add(msgs, rcpts uint32) {
	i := r.head % slots
	r.msgs[i] += msgs
	r.rcpts[i] += rcpts
	r.totalMsgs += uint64(msgs)
	r.totalRcpts += uint64(rcpts)
}

func (r *ring) empty() bool { return r.totalMsgs == 0 && r.totalRcpts == 0 }

// ringState is a ring as persisted.
type ringState struct {
	Window int64    `json:"w"` // nanoseconds
	Head   int64    `json:"h"`
	Msgs   []uint32 `json:"m"`
	Rcpts  []uint32 `json:"r"`
}

func (r *ring) state() ringState {
	return ringState{Window: int64(r.window), Head: r.head, Msgs: append([]uint32(nil), r.msgs[:]...), Rcpts: append([]uint32(nil), r.rcpts[:]...)}
}

// restore loads a persisted ring of the same window; anything else
// (another window, a damaged record) leaves the ring empty.
func (r *ring) restore(s ringState) bool {
	if s.Window != int64(r.window) || len(s.Msgs) != slots || len(s.Rcpts) != slots {
		return false
	}
	r.head = s.Head
	copy(r.msgs[:], s.Msgs)
	copy(r.rcpts[:], s.Rcpts)
	r.totalMsgs, r.totalRcpts = 0, 0
	for i := range slots {
		r.totalMsgs += uint64(r.msgs[i])
		r.totalRcpts += uint64(r.rcpts[i])
	}
	return true
}
