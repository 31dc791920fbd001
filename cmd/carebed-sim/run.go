package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"carebed/gateway/simulate"
)

// errUsage marks an error in the command line or its environment; it has
// already been printed with the usage.
var errUsage = errors.New("usage")

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "CAREBED_SIM_"

// adminTokenEnv is the gateway's admin token, used when no token is given.
const adminTokenEnv = "CAREBED_ADMIN_TOKEN"

// config is the parsed command line.
type config struct {
	opts         simulate.Options
	registerURL  string
	token        string
	registerOnly bool
}

// run parses args (with getenv for the environment), registers the fleet
// when asked, runs the simulation until ctx ends or the run's limits, and
// prints a summary line to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.registerURL != "" {
		if cfg.token == "" {
			return fmt.Errorf("--register-url needs an API token: --token, %sTOKEN or %s", envPrefix, adminTokenEnv)
		}
		if err := simulate.Register(ctx, cfg.registerURL, cfg.token, cfg.opts); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "carebed-sim: registered agency %s and %d beds with %s\n", agencyOf(cfg.opts), cfg.opts.Beds, cfg.registerURL)
	}
	if cfg.registerOnly {
		if cfg.registerURL == "" {
			return fmt.Errorf("--register-only needs --register-url")
		}
		return nil
	}
	began := time.Now()
	st, err := simulate.Run(ctx, cfg.opts)
	fmt.Fprintln(stderr, summary(st, time.Since(began)))
	return err
}

// summary is the one line printed on exit.
func summary(st simulate.Stats, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(st.Acked) / s
	}
	return fmt.Sprintf("carebed-sim: published=%d acked=%d errors=%d elapsed=%s rate=%.0f msgs/s",
		st.Published, st.Acked, st.Errors, elapsed.Round(time.Millisecond), rate)
}

func agencyOf(o simulate.Options) string {
	if o.Agency == "" {
		return "demo-agency"
	}
	return o.Agency
}

// parse reads the flags, then fills every flag not given from its
// environment variable.
func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var qos uint
	var timestamps bool
	fs := flag.NewFlagSet("carebed-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: carebed-sim --broker URL --beds N [flags]\n\n"+
			"Publishes the MQTT traffic of simulated care beds. Every flag can also be set\n"+
			"by the environment variable %s<FLAG> (upper case, '-' as '_');\n"+
			"the token also by %s.\n\n", envPrefix, adminTokenEnv)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.opts.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker `URL` (tcp://host:port)")
	fs.IntVar(&c.opts.Beds, "beds", 10, "number of beds to simulate")
	fs.IntVar(&c.opts.FirstBed, "first-bed", 1, "number of the first bed (bed-0001 is 1)")
	fs.StringVar(&c.opts.Agency, "agency", "demo-agency", "agency `id` the beds belong to")
	fs.Float64Var(&c.opts.Rate, "rate", 0, "total `msgs/s` across all beds; 0 is the realistic cadence (vitals every 5 s per bed)")
	fs.BoolVar(&c.opts.Fast, "fast", false, "publish as fast as the broker acknowledges (load tests; vitals only unless --stream)")
	fs.IntVar(&c.opts.Count, "count", 0, "stop after this many traffic messages, availability not counted (0: no limit)")
	fs.DurationVar(&c.opts.Duration, "duration", 0, "stop after this long, such as 10m (0: until interrupted)")
	fs.StringVar(&c.opts.Scenario, "scenario", "", "incident on the first bed: "+strings.Join(simulate.Scenarios, ", "))
	fs.UintVar(&qos, "qos", 1, "MQTT QoS of the traffic, 1 or 2")
	fs.IntVar(&c.opts.Conns, "conns", 1, "MQTT connections to spread the beds over (more for --fast)")
	fs.StringVar(&c.opts.Stream, "stream", "", "only this stream: vitals, env, status, sos, fall or visit")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "seed of every random choice; the same seed gives the same traffic")
	fs.BoolVar(&timestamps, "timestamps", true, "include ts (Unix ms) in payloads")
	fs.StringVar(&c.registerURL, "register-url", "", "first register the agency, beds and devices through the API at this `URL`")
	fs.BoolVar(&c.registerOnly, "register-only", false, "register through --register-url and exit without publishing")
	fs.StringVar(&c.token, "token", "", "API token for --register-url (default $"+adminTokenEnv+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "carebed-sim: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return c, errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(name)
		if given[f.Name] || v == "" || envErr != nil {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			if f.Name == "token" {
				err = errors.New("invalid value") // never echo a token
			}
			envErr = fmt.Errorf("environment %s: %w", name, err)
		}
	})
	if envErr != nil {
		fmt.Fprintf(stderr, "carebed-sim: %v\n", envErr)
		return c, errUsage
	}
	if c.token == "" {
		c.token = getenv(adminTokenEnv)
	}
	if qos < 1 || qos > 2 {
		fmt.Fprintf(stderr, "carebed-sim: --qos %d: want 1 or 2\n", qos)
		return c, errUsage
	}
	c.opts.QoS = byte(qos)
	c.opts.OmitTimestamps = !timestamps
	return c, nil
}
