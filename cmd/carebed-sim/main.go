// Command carebed-sim publishes the MQTT traffic of simulated home
// elderly-care beds, for demos and load tests of the CareBed gateway:
//
//	carebed-sim --broker tcp://127.0.0.1:1883 --beds 20
//	carebed-sim --broker URL --beds N [--rate MSGS_PER_S] [--duration D]
//	    [--count N] [--scenario NAME] [--fast] [--conns N] [--stream vitals]
//	    [--register-url URL --token T] [--agency ID] [--seed N]
//
// Every flag can also be set by the environment variable CAREBED_SIM_<FLAG>
// (upper case, '-' as '_'); a flag on the command line wins. The API token
// may also come from CAREBED_ADMIN_TOKEN. On exit it prints one summary line
// to standard error and exits non-zero when anything failed.
//
// It only publishes and registers: it never reads what the gateway stores,
// and never prints the token.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "carebed-sim:", err)
		os.Exit(1)
	}
}
