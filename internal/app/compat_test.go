package app

import (
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/policy"
)

// buildPolicy is the policy server's builder, now policy.Build (its
// descriptor's), under the name the app's tests knew.
func buildPolicy(d Deps) ([]Watch, error) { return policy.Build(d) }

// buildCT is the CT watch's builder, ct.Build.
func buildCT(d Deps) ([]Watch, error) { return ct.Build(d) }
