package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/store"
)

const tokenUsage = `Usage:
  hookrelay token create --environment NAME [--database-url URL]

Prints a new admin API token of the environment NAME, creating the
environment when it does not exist. Applications and event types of one
environment are invisible to the tokens of every other (live and sandbox,
say). "default" is the environment of HOOKRELAY_ADMIN_TOKEN. The token is
the last line of the output; only its hash is stored.
`

// environmentNamePattern bounds environment names: the characters of Svix
// names, 1 to 64 of them.
var environmentNamePattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,64}$`)

// tokenCmd is `hookrelay token create`.
func tokenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown token command %q\n\n%s", args[0], tokenUsage)
	return errUsage
}

func tokenCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("token create", getenv, stderr)
	var url, name string
	databaseFlag(f, &url)
	f.str(&name, "environment", "HOOKRELAY_TOKEN_ENVIRONMENT", "",
		`name of the environment the token reaches, created if missing ("default": the default environment)`)
	if err := f.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	if f.NArg() > 0 {
		return fmt.Errorf("token create: unexpected argument %q", f.Arg(0))
	}
	if name == "" {
		fmt.Fprint(stderr, tokenUsage)
		return errors.New("token create: --environment is required")
	}
	if !environmentNamePattern.MatchString(name) {
		return fmt.Errorf("token create: environment name %q must be 1 to 64 letters, digits, '-', '_' or '.'", name)
	}

	st, err := openStoreWith(ctx, url, getenv, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()

	env, created, err := environmentByName(ctx, st, name)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	token := "hr_" + randomBase62(40)
	sum := sha256.Sum256([]byte(token))
	err = st.CreateToken(ctx, &store.Token{
		ID:        hookrelay.NewID(hookrelay.PrefixToken),
		EnvID:     env.ID,
		Kind:      store.TokenAdmin,
		Hash:      sum[:],
		CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("token create: store token: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "Created environment %q (%s).\n", env.Name, env.ID)
	}
	fmt.Fprintf(stdout, "Admin API token of environment %q (%s). It is shown only this once; only its hash is stored:\n", env.Name, env.ID)
	fmt.Fprintln(stdout, token)
	return nil
}

// environmentByName finds the environment called name or creates it, and
// tells whether it created it.
func environmentByName(ctx context.Context, st store.Store, name string) (*hookrelay.Environment, bool, error) {
	env, err := st.GetEnvironmentByName(ctx, name)
	if err == nil {
		return env, false, nil
	}
	if !errors.Is(err, hookrelay.ErrNotFound) {
		return nil, false, fmt.Errorf("find environment: %w", err)
	}
	env = &hookrelay.Environment{ID: hookrelay.NewID(hookrelay.PrefixEnv), Name: name, CreatedAt: time.Now().UTC()}
	err = st.CreateEnvironment(ctx, env)
	if errors.Is(err, hookrelay.ErrConflict) {
		// Created meanwhile by another process.
		env, err = st.GetEnvironmentByName(ctx, name)
		if err != nil {
			return nil, false, fmt.Errorf("find environment: %w", err)
		}
		return env, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("create environment: %w", err)
	}
	return env, true, nil
}
