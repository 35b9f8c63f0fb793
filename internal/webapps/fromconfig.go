package webapps

import "github.com/vigie/vigie/internal/config"

// BucketsFromConfig converts the web.buckets section.
func BucketsFromConfig(b config.WebBuckets) Buckets {
	conv := func(c config.Bucket) BucketSpec { return BucketSpec{Capacity: c.Capacity, PerMinute: c.PerMinute} }
	return Buckets{WPLogin: conv(b.WPLogin), XMLRPC: conv(b.XMLRPC), Probe: conv(b.Probe), PostFlood: conv(b.PostFlood),
		AuthorScan: conv(b.AuthorScan)}
}

// DistributedFromConfig converts the web.distributed section.
func DistributedFromConfig(d config.WebDistributed) DistributedSpec {
	return DistributedSpec{Failures: d.Failures, Addresses: d.Addresses, MaxSuccessRatio: d.MaxSuccessRatio, Window: d.Window}
}

// LogOptionsFromConfig gives a LogDetector the configured buckets and
// repeat interval: what `vigie replay` needs to run the access-log
// detectors as the daemon does. Set Log, Site and Inventory on the result.
func LogOptionsFromConfig(c config.Web) LogOptions {
	return LogOptions{Buckets: BucketsFromConfig(c.Buckets), Distributed: DistributedFromConfig(c.Distributed), Repeat: c.Repeat}
}
