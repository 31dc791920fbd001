// Command carebed is the CareBed gateway: it watches home elderly-care beds
// through MQTT, stores their telemetry, and serves the API.
//
//	carebed serve [flags]    run the gateway (see carebed serve -h)
//	carebed config [flags]   print the effective configuration, secrets hidden
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Asia/Shanghai even on a minimal image

	"carebed/gateway"
)

// scaleMemoryLimit and scaleGCPercent let the gateway set the Go runtime's
// soft memory limit and the collector's pacing from the number of beds it
// watches (gateway.Config.ScaleMemoryLimit and ScaleGCPercent). Only main
// sets them, when GOMEMLIMIT and GOGC do not say otherwise: tests that call
// run leave their process's settings alone.
var scaleMemoryLimit, scaleGCPercent bool

func main() {
	scaleMemoryLimit = os.Getenv("GOMEMLIMIT") == ""
	scaleGCPercent = os.Getenv("GOGC") == ""
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "carebed:", err)
		os.Exit(1)
	}
}

// run is the whole command, testable in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: carebed serve|config [flags] (carebed serve -h for the flags)")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve", "config":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "usage: carebed serve|config [flags]")
		return nil
	default:
		return fmt.Errorf("unknown command %q: use serve or config", cmd)
	}
	cfg, err := loadConfig(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	if cmd == "config" {
		return printConfig(stdout, cfg)
	}
	cfg.ScaleMemoryLimit, cfg.ScaleGCPercent = scaleMemoryLimit, scaleGCPercent
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return gateway.Run(ctx, cfg, log, func(info gateway.Info) {
		fmt.Fprintf(stdout, "CareBed is running.\n  API:      http://%s/api/v1 (health: /healthz, metrics: /metrics)\n  Broker:   %s\n  Data:     %s\n",
			displayAddr(info.HTTPAddr), info.BrokerURL, cfg.DataDir)
		if cfg.Demo {
			token := info.AdminToken // generated for this demo run only
			if cfg.AdminToken != "" {
				token = "$CAREBED_ADMIN_TOKEN"
			}
			fmt.Fprintf(stdout, "  Demo:     %d simulated beds; try:\n    curl -H \"Authorization: Bearer %s\" http://%s/api/v1/devices\n",
				cfg.DemoBeds, token, displayAddr(info.HTTPAddr))
		}
	})
}
