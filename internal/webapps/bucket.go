package webapps

import "time"

// A bucket is a leaky bucket: each event pours one unit in, and it drains
// at a fixed rate. It overflows when more than Capacity units are in it,
// that is when events come faster than the drain for long enough. Time is
// the log's, so replaying a log gives the same answers as following it.
type bucket struct {
	level float64
	last  time.Time
	// armed is false after an overflow until the level falls back under
	// half the capacity, so one burst makes one finding, not one per line.
	fired bool
}

// BucketSpec is a bucket's size: Capacity events, draining PerMinute
// events each minute.
type BucketSpec struct {
	Capacity  int     `yaml:"capacity"`
	PerMinute float64 `yaml:"per_minute"`
}

// pour adds one event at t and reports whether this event made the bucket
// overflow (first overflow of a burst).
func (b *bucket) pour(spec BucketSpec, t time.Time) (overflow bool) {
	b.drain(spec, t)
	b.level++
	if b.level > float64(spec.Capacity) && !b.fired {
		b.fired = true
		return true
	}
	return false
}

func (b *bucket) drain(spec BucketSpec, t time.Time) {
	if !b.last.IsZero() && t.After(b.last) {
		b.level -= t.Sub(b.last).Minutes() * spec.PerMinute
		if b.level < 0 {
			b.level = 0
		}
	}
	if t.After(b.last) {
		b.last = t
	}
	if b.fired && b.level <= float64(spec.Capacity)/2 {
		b.fired = false
	}
}

// empty reports whether the bucket has drained by t (its state can go).
func (b *bucket) empty(spec BucketSpec, t time.Time) bool {
	if b.last.IsZero() {
		return true
	}
	return b.level-t.Sub(b.last).Minutes()*spec.PerMinute <= 0
}
