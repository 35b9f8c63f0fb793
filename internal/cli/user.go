package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/ui"
)

func userCommand() *command {
	return &command{name: "user", summary: "manage dashboard accounts (password and TOTP)", sub: []*command{
		{name: "add", summary: "add a user: password from stdin, prints the TOTP secret", run: userAdd},
		{name: "passwd", summary: "change a user's password (read from stdin)", run: userPasswd},
		{name: "totp", summary: "give a user a new TOTP secret and print it", run: userTOTP},
	}}
}

const userHelp = `
The dashboard asks for a user, a password and a TOTP code (RFC 6238, any
authenticator app) whenever it is reachable from another machine (TLS or
reverse_proxy set, see 'vigie config example'). Accounts live in the store.
The password (at least 12 characters) is read from the first line of
standard input, so it stays out of the shell history:
  read -rs PW && printf '%s\n' "$PW" | vigie user add alice`

// withUsers opens the store the daemon uses and runs fn on its accounts.
func withUsers(ctx context.Context, env *Env, f *flags, cfgPath string, fn func(u *ui.Users) int) int {
	cfg, code, ok := loadConfig(env, cfgPath)
	if !ok {
		return code
	}
	db, err := openStore(ctx, env, cfg, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", f.Name(), err)
		return exitFail
	}
	defer db.Close()
	return fn(&ui.Users{Store: db})
}

func readPassword(env *Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func userFlags(env *Env, path, usage, help string) (*flags, *string) {
	f := newFlags(env, path, usage, help+"\n"+userHelp)
	cfg := f.configFlag()
	return f, cfg
}

func printTOTP(env *Env, u ui.User) {
	fmt.Fprintf(env.Stdout, "TOTP secret for %s: %s\n", u.Name, u.TOTPSecret)
	fmt.Fprintf(env.Stdout, "Authenticator URI:  %s\n", ui.TOTPURI("vigie", u.Name, u.TOTPSecret))
	fmt.Fprintln(env.Stdout, "Enter the secret (or the URI, as a QR code) in an authenticator app now: it is not shown again.")
}

func userAdd(ctx context.Context, env *Env, args []string) int {
	f, cfg := userFlags(env, "vigie user add", "[--config FILE] NAME < password", "Adds a dashboard user and prints its new TOTP secret.")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one user NAME, got %d arguments", f.NArg())
	}
	return withUsers(ctx, env, f, *cfg, func(users *ui.Users) int {
		pw, err := readPassword(env)
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie user add: %v\n", err)
			return exitUsage
		}
		u, err := users.Add(ctx, f.Arg(0), pw)
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie user add: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(env.Stdout, "user %s added\n", u.Name)
		printTOTP(env, u)
		return exitOK
	})
}

func userPasswd(ctx context.Context, env *Env, args []string) int {
	f, cfg := userFlags(env, "vigie user passwd", "[--config FILE] NAME < password", "Changes a dashboard user's password.")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one user NAME, got %d arguments", f.NArg())
	}
	return withUsers(ctx, env, f, *cfg, func(users *ui.Users) int {
		pw, err := readPassword(env)
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie user passwd: %v\n", err)
			return exitUsage
		}
		if err := users.SetPassword(ctx, f.Arg(0), pw); err != nil {
			fmt.Fprintf(env.Stderr, "vigie user passwd: %s: %v\n", f.Arg(0), err)
			return exitFail
		}
		fmt.Fprintf(env.Stdout, "password of %s changed\n", f.Arg(0))
		return exitOK
	})
}

func userTOTP(ctx context.Context, env *Env, args []string) int {
	f, cfg := userFlags(env, "vigie user totp", "[--config FILE] NAME", "Replaces a user's TOTP secret (a lost phone) and prints the new one.")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one user NAME, got %d arguments", f.NArg())
	}
	return withUsers(ctx, env, f, *cfg, func(users *ui.Users) int {
		u, err := users.ResetTOTP(ctx, f.Arg(0))
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie user totp: %s: %v\n", f.Arg(0), err)
			return exitFail
		}
		printTOTP(env, u)
		return exitOK
	})
}
