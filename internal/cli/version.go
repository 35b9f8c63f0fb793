package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vigie/vigie/internal/buildinfo"
)

func versionCommand() *command {
	return &command{name: "version", summary: "print the version", run: func(ctx context.Context, env *Env, args []string) int {
		f := newFlags(env, "vigie version", "", "Prints vigie's version and the Go version it was built with.")
		if code, ok := f.parse(args); !ok {
			return code
		}
		fmt.Fprintf(env.Stdout, "vigie %s (%s %s/%s)\n", buildinfo.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}}
}
