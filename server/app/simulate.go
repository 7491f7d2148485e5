package app

import (
	"context"
	"time"

	"github.com/baoshui/baoshui/sensors/simulate"
)

// startSimulator issues a device credential to every station and publishes
// simulated readings through the embedded broker, as the stations' devices
// would: the last day first, then on at the configured speed. It is for
// demonstrations (make run): issuing the credentials rotates them.
func (a *App) startSimulator(ctx context.Context) error {
	var devs []simulate.Device
	for _, st := range a.Monitoring.Stations() {
		cred, err := a.Monitoring.IssueCredential(ctx, "simulator", st.ID)
		if err != nil {
			return err
		}
		devs = append(devs, simulate.Device{Station: st.Station, Username: cred.Username, Password: cred.Password})
	}
	sctx, cancel := context.WithCancel(context.Background())
	a.stopSim, a.simDone = cancel, make(chan struct{})
	cfg := simulate.Config{BrokerURL: a.Broker.URL(), Devices: devs, Speed: a.Config.SimulateSpeed, NotAhead: true,
		Start: time.Now().Add(-24 * time.Hour).Truncate(time.Minute), Seed: uint64(time.Now().UnixNano()), ExceedanceEvery: 500,
		Logger: a.Log.With("component", "simulator"),
		// A rain storm over the inflows half a day ago: turbidity and
		// phosphorus rise and the inflow sections exceed their target.
		Events: []simulate.Event{{Start: time.Now().Add(-12 * time.Hour), Duration: 3 * time.Hour, Peak: 4}}}
	go func() {
		defer close(a.simDone)
		st, err := simulate.Run(sctx, cfg)
		a.Log.Info("simulator stopped", "published", st.Published, "failed", st.Failed, "err", err)
	}()
	a.Log.Info("simulator started", "stations", len(devs), "speed", cfg.Speed)
	return nil
}
