package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const tokenUsage = `Usage:
  hookrelay token create --environment NAME [--database-url URL]
  hookrelay token list [--environment NAME] [--kind admin|portal] [--database-url URL]
  hookrelay token revoke [--database-url URL] ID

create prints a new admin API token of the environment NAME, creating the
environment when it does not exist. Applications and event types of one
environment are invisible to the tokens of every other (live and sandbox,
say). "default" is the environment of HOOKRELAY_ADMIN_TOKEN. The token is
the last line of the output; only its hash is stored.

list shows the stored tokens of an environment ("default" unless named;
admin tokens unless --kind portal) by ID and creation time: their text
is never stored, so it cannot be shown. HOOKRELAY_ADMIN_TOKEN is not
stored and not listed.

revoke deletes the stored token ID (as list shows it); requests made with
it fail from then on. A lost token is replaced with create, then revoked.
`

// environmentNamePattern bounds environment names: the characters of Svix
// names, 1 to 64 of them.
var environmentNamePattern = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,64}$`)

// tokenCmd is `hookrelay token create|list|revoke`.
func tokenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return tokenList(ctx, args[1:], getenv, stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], getenv, stdout, stderr)
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

func tokenList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("token list", getenv, stderr)
	var url, name, kind string
	databaseFlag(f, &url)
	f.str(&name, "environment", "HOOKRELAY_TOKEN_ENVIRONMENT", "default", "name of the environment whose tokens are listed")
	f.StringVar(&kind, "kind", "admin", "kind of the tokens listed: admin or portal")
	if err := f.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	if f.NArg() > 0 {
		return fmt.Errorf("token list: unexpected argument %q", f.Arg(0))
	}
	if kind != string(store.TokenAdmin) && kind != string(store.TokenPortal) {
		return fmt.Errorf("token list: --kind %q: want admin or portal", kind)
	}

	st, err := openStoreWith(ctx, url, getenv, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	env, err := st.GetEnvironmentByName(ctx, name)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return fmt.Errorf("token list: no environment named %q", name)
	}
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	toks, err := st.ListTokens(ctx, env.ID, store.TokenKind(kind))
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	if len(toks) == 0 {
		fmt.Fprintf(stdout, "Environment %q (%s) has no stored %s tokens.\n", env.Name, env.ID, kind)
		return nil
	}
	fmt.Fprintf(stdout, "Stored %s tokens of environment %q (%s), oldest first:\n", kind, env.Name, env.ID)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	header := "ID\tCREATED\tEXPIRES"
	if kind == string(store.TokenPortal) {
		header += "\tAPPLICATION"
	}
	fmt.Fprintln(tw, header)
	for _, t := range toks {
		expires := "never"
		if t.ExpiresAt != nil {
			expires = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		line := t.ID + "\t" + t.CreatedAt.UTC().Format(time.RFC3339) + "\t" + expires
		if kind == string(store.TokenPortal) {
			line += "\t" + t.AppID
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("token revoke", getenv, stderr)
	var url string
	databaseFlag(f, &url)
	if err := f.Parse(args); err != nil {
		return err
	}
	id := f.Arg(0)
	if f.NArg() > 0 {
		// Flags may follow the ID too.
		if err := f.Parse(f.Args()[1:]); err != nil {
			return err
		}
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	if id == "" {
		fmt.Fprint(stderr, tokenUsage)
		return errors.New("token revoke: the ID of the token is required (see 'hookrelay token list')")
	}
	if f.NArg() > 0 {
		return fmt.Errorf("token revoke: unexpected argument %q", f.Arg(0))
	}

	st, err := openStoreWith(ctx, url, getenv, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.DeleteToken(ctx, id)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return fmt.Errorf("token revoke: no token %q (see 'hookrelay token list')", id)
	}
	if err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	fmt.Fprintf(stdout, "Revoked token %s.\n", id)
	n, err := st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenAdmin)
	if err == nil && n == 0 && getenv("HOOKRELAY_ADMIN_TOKEN") == "" {
		fmt.Fprintln(stdout, "The default environment has no stored admin token left: the next start of 'hookrelay serve' without HOOKRELAY_ADMIN_TOKEN generates one and prints it.")
	}
	return nil
}

// maxLoggedTokens bounds the token IDs logAdminTokens names.
const maxLoggedTokens = 10

// logAdminTokens tells at start which admin tokens reach the default
// environment: whether HOOKRELAY_ADMIN_TOKEN is set, and the stored ones
// by ID and creation time (never their text), with how to make or revoke
// one. A stored token beside HOOKRELAY_ADMIN_TOKEN is a warning: it stays
// valid, which may not be meant.
func logAdminTokens(ctx context.Context, st store.Store, envTokenSet bool, logger *slog.Logger) {
	toks, err := st.ListTokens(ctx, hookrelay.DefaultEnvironment, store.TokenAdmin)
	if err != nil {
		logger.Warn("list admin tokens", "err", err)
		return
	}
	var names []string
	for i, t := range toks {
		if i == maxLoggedTokens {
			names = append(names, fmt.Sprintf("and %d more", len(toks)-i))
			break
		}
		names = append(names, t.ID+" created "+t.CreatedAt.UTC().Format(time.RFC3339))
	}
	const how = "make one with 'hookrelay token create --environment default', list them with 'hookrelay token list', revoke one with 'hookrelay token revoke ID'"
	switch {
	case envTokenSet && len(toks) > 0:
		logger.Warn("stored admin tokens of the default environment stay valid beside HOOKRELAY_ADMIN_TOKEN; revoke those not meant with 'hookrelay token revoke ID'",
			"admin_token_env", true, "stored_admin_tokens", names)
	case envTokenSet:
		logger.Info("admin token: HOOKRELAY_ADMIN_TOKEN", "admin_token_env", true, "stored_admin_tokens", len(toks))
	default:
		logger.Info("admin tokens of the default environment are stored ones; if lost, "+how,
			"admin_token_env", false, "stored_admin_tokens", names)
	}
}
