package alert

import "github.com/vigie/vigie/internal/watch"

// builtinGrouping is the grouping part of the descriptors of the watches
// vigie ships, for a pipeline built without them (Options.Watches nil:
// one-shot tools and tests that make a pipeline directly). The app passes
// the descriptors themselves (watches.All()). alert cannot import the
// watches (their tests feed pipelines), so this is the one place their
// names are spelled outside their packages, and
// internal/watches.TestAlertBuiltinGroupingIsTheDescriptors fails when it
// says anything else than the descriptors do.
func builtinGrouping() watch.List {
	return watch.List{
		{Name: "mail", Grouping: &watch.Grouping{Key: watch.AccountKey, Compromise: true}},
		{Name: "policy", Grouping: &watch.Grouping{Key: watch.AccountKey}},
		{Name: "dns", Grouping: &watch.Grouping{Domains: watch.SubjectDomain, IndexDomains: true}},
		{Name: "ct", Grouping: &watch.Grouping{Domains: watch.NamesIn("domain", "names"), JoinsDomains: true}},
		{Name: "web", Grouping: &watch.Grouping{Key: watch.UIDOrSiteKey("uid")}},
		{Name: "blocklist", Grouping: &watch.Grouping{FollowsCompromise: true}},
	}
}

// BuiltinGrouping is builtinGrouping, for the test that compares it with
// the descriptors.
func BuiltinGrouping() watch.List { return builtinGrouping() }
