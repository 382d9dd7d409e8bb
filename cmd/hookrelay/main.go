// Command hookrelay is the webhook delivery server.
//
//	hookrelay serve     run the API, the portal and the delivery workers
//	hookrelay migrate   bring the database schema up to date and exit
//	hookrelay bench     measure throughput, latency and isolation
//	hookrelay keys      make encryption keys; re-encrypt stored secrets
//	hookrelay token     create, list and revoke API tokens of environments
//	hookrelay version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/hookrelay/hookrelay"
)

// gcPercent is the collector's target (GOGC) unless the environment sets
// one. The live heap is small and most allocations die within a request,
// so collecting half as often as Go's default saves about a tenth of the
// CPU per delivery for some tens of MB (see BENCHMARKS.md).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // the flags' help was asked for and printed
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "hookrelay:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `hookrelay — webhook delivery server

Usage:
  hookrelay serve [flags]     run the API and the delivery workers
  hookrelay migrate [flags]   apply database migrations and exit
  hookrelay bench [flags]     run the load tool (see BENCHMARKS.md)
  hookrelay keys generate     print a new encryption key for HOOKRELAY_ENCRYPTION_KEYS
  hookrelay keys reseal       re-encrypt stored endpoint secrets with the current key
  hookrelay token create --environment NAME
                              print a new admin API token of an environment
  hookrelay token list [--environment NAME]
                              list the stored admin tokens by ID
  hookrelay token revoke ID   delete a stored token
  hookrelay version           print the version

Run 'hookrelay COMMAND -h' for the flags of a command. Every flag can also be
set with an environment variable, shown in the flag's help.
`

// run executes one command line. getenv supplies HOOKRELAY_* settings.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], getenv, stdout, stderr)
	case "token":
		return tokenCmd(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "hookrelay", hookrelay.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
