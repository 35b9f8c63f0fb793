// Command mail-eval runs the mail scenario suite and prints its table
// (`make eval`).
package main

import (
	"fmt"
	"os"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/eval"
)

func main() {
	rows, err := eval.RunSuite(config.Default().Mail)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mail-eval:", err)
		os.Exit(1)
	}
	eval.Print(os.Stdout, rows)
}
