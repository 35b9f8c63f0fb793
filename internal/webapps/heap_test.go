package webapps

import (
	"runtime"
	"sync/atomic"
	"time"
)

// sampleHeapPeak samples HeapInuse every interval until the returned stop
// is called; stop waits for the sampler and returns the highest value seen.
// A scan's batches are short-lived, so the peak is what tells whether the
// listing was held whole.
func sampleHeapPeak(every time.Duration) (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(every):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-sampled
		return peak.Load()
	}
}
