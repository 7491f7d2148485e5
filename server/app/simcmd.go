package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/simulate"
)

// simulateStations is `baoshui simulate-stations`: it publishes simulated
// readings of the stations of a stations file to a broker, each station as
// its own device, with the passwords of a credentials file.
func simulateStations(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baoshui simulate-stations", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokerURL := fs.String("broker", "tcp://127.0.0.1:1883", "the broker's URL")
	stationsFile := fs.String("stations", "testdata/stations.json", "the stations file")
	credsFile := fs.String("credentials", "", `JSON object {"station id": "password", …} of the devices' passwords (username = station id); required`)
	speed := fs.Float64("speed", 1, "simulated seconds per second")
	back := fs.Duration("replay", 0, "start this far in the past and catch up at -speed, never running ahead of the clock")
	count := fs.Int("count", 0, "samples per station, then stop (0: until interrupted)")
	format := fs.String("format", simulate.FormatJSON, "payload format: json or senml")
	every := fs.Int("exceedance-every", 0, "one sample in N exceeds its station's target (0: never)")
	rain := fs.Duration("rain", 0, "a rain event of this length at the river inflows, starting at the first sample")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the generators")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "baoshui simulate-stations:", err)
		return 1
	}
	if *credsFile == "" {
		fmt.Fprintln(stderr, "baoshui simulate-stations: -credentials is required")
		return 2
	}
	b, err := os.ReadFile(*stationsFile)
	if err != nil {
		return fail(err)
	}
	sts, err := sensors.LoadStations(b)
	if err != nil {
		return fail(err)
	}
	var creds map[string]string
	if b, err = os.ReadFile(*credsFile); err == nil {
		err = json.Unmarshal(b, &creds)
	}
	if err != nil {
		return fail(fmt.Errorf("credentials %s: %w", *credsFile, err))
	}
	var devs []simulate.Device
	for _, st := range sts {
		if pw, ok := creds[st.ID]; ok {
			devs = append(devs, simulate.Device{Station: st, Username: st.ID, Password: pw})
		}
	}
	if len(devs) == 0 {
		return fail(fmt.Errorf("no station of %s has a password in %s", *stationsFile, *credsFile))
	}
	start := time.Now().Add(-*back).Truncate(time.Second)
	cfg := simulate.Config{BrokerURL: *brokerURL, Devices: devs, Speed: *speed, NotAhead: *back > 0, Start: start,
		Count: *count, Seed: *seed, Format: *format, ExceedanceEvery: *every,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if *rain > 0 {
		cfg.Events = []simulate.Event{{Start: start, Duration: *rain, Peak: 4}}
	}
	fmt.Fprintf(stdout, "simulating %d stations on %s (speed %g)\n", len(devs), *brokerURL, *speed)
	st, err := simulate.Run(ctx, cfg)
	fmt.Fprintf(stdout, "published %d readings (%d attempts failed and were retried)\n", st.Published, st.Failed)
	if err != nil {
		return fail(err)
	}
	return 0
}
