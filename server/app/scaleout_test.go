package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/internal/mosquittotest"
	"github.com/baoshui/baoshui/server/internal/observe"
	"github.com/baoshui/baoshui/server/store"
)

// metric reads one unlabelled counter or gauge from a server's /metrics,
// or -1 when the server does not answer.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	m, err := observe.Metrics(nil, base)
	if v, ok := m[name]; err == nil && ok {
		return v
	}
	return -1
}

// TestTwoInstancesShareIngest is the scale-out drill of the sensor ingest:
// two server processes on one store (an embedded FerretDB both reach by
// URI) and one Mosquitto, both subscribed through the shared subscription
// $share/baoshui/…; 100 stations publish 100 readings each at QoS 1 while
// one instance is SIGKILLed and started again. Afterwards a third instance,
// started on the same store, counts exactly 100 readings of every station:
// each reading stored once, none lost, and both instances took a share.
func TestTwoInstancesShareIngest(t *testing.T) {
	mqttClients(t)
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const stations, perStation = 100, 100
	ctx := context.Background()
	backing, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backing.Close(context.Background()) })

	ids := make([]string, stations)
	users := map[string]string{mosquittotest.ServerUser: "server-secret"}
	for i := range ids {
		ids[i] = fmt.Sprintf("st-%03d", i+1)
		users[ids[i]] = "device-secret-" + ids[i]
	}
	mq := mosquittotest.Start(t, users)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	shared := []string{"-mongo-uri", backing.URI(), "-mongo-database", backing.DatabaseName(), "-token-key", hex.EncodeToString(key)}
	instance := func(name string, mqtt bool) *sensorRig {
		args := append([]string{}, shared...)
		if mqtt {
			args = append(args, "-mqtt-url", mq.URL(), "-mqtt-username", mosquittotest.ServerUser, "-mqtt-password", "server-secret",
				"-mqtt-client-id", "baoshui-"+name, "-mqtt-topic", "$share/baoshui/baoshui/v1/stations/+/readings")
		} else {
			args = append(args, "-mqtt-addr", "off")
		}
		return newSensorRig(t, args...)
	}

	// A first: it creates the admin and the stations; B starts on a store
	// that holds them.
	a := instance("a", true)
	baseA := "http://" + a.httpAddr
	root := newClient(t, baseA).login("root", "root-password")
	for _, id := range ids {
		body := fmt.Sprintf(`{"id":%q,"name":%q,"location":{"type":"Point","coordinates":[116.96,40.52]},"water_body":"reservoir",`+
			`"target_class":"II","params":["ph","do_mg_l","codmn_mg_l","nh3n_mg_l","tp_mg_l"],"interval":"PT5M"}`, id, "测试站 "+id)
		if st, b, _ := root.raw("POST", "/api/v1/stations", body); st != 201 {
			t.Fatalf("station %s: %d %s", id, st, b)
		}
	}
	b := instance("b", true)
	baseB := "http://" + b.httpAddr
	if st := newClient(t, baseB).login("root", "root-password").do("GET", "/api/v1/stations/st-100", nil, nil); st != 200 {
		t.Fatalf("instance B does not see the stations: %d", st)
	}

	base0 := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, stations)
	for _, id := range ids {
		var lines strings.Builder
		for k := 0; k < perStation; k++ {
			lines.WriteString(readingJSON(base0.Add(time.Duration(k)*time.Second), 0.02) + "\n")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strconv.Itoa(mq.Port), "-u", id, "-P", users[id],
				"-i", "dev-"+id, "-q", "1", "-t", "baoshui/v1/stations/"+id+"/readings", "-l")
			cmd.Stdin = strings.NewReader(lines.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%s: %v %s", id, err, out)
			}
		}()
	}
	// Kill A once both instances have stored part of the burst.
	waitFor(t, 2*time.Minute, "both instances ingesting", func() bool {
		return metric(t, baseA, "baoshui_ingest_acked_total") > 0 && metric(t, baseB, "baoshui_ingest_acked_total") > 0
	})
	ackedA := metric(t, baseA, "baoshui_ingest_acked_total")
	a.kill(t)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a.start(t)
	// Everything published is acknowledged by one instance or the other:
	// wait until Mosquitto holds nothing more for either session.
	total := float64(stations * perStation)
	waitFor(t, 3*time.Minute, "the burst stored", func() bool {
		return ackedA+metric(t, baseA, "baoshui_ingest_acked_total")+metric(t, baseB, "baoshui_ingest_acked_total") >= total
	})
	ackedB := metric(t, baseB, "baoshui_ingest_acked_total")
	t.Logf("acknowledged: A %.0f before the kill and %.0f after its restart, B %.0f (of %.0f; redeliveries count twice)",
		ackedA, metric(t, baseA, "baoshui_ingest_acked_total"), ackedB, total)
	if ackedB == 0 || ackedA == 0 {
		t.Errorf("the load was not split: A %.0f, B %.0f", ackedA, ackedB)
	}
	a.kill(t)
	b.kill(t)

	// A third instance reads the store from scratch and counts.
	c := instance("c", false)
	rc := newClient(t, "http://"+c.httpAddr).login("root", "root-password")
	for _, id := range ids {
		if n := samples(rc, id); n != perStation {
			t.Errorf("%s: %d readings stored, want exactly %d", id, n, perStation)
		}
	}
	if t.Failed() {
		t.Log("A:", a.log(), "\nB:", b.log(), "\nMosquitto:", mq.Log())
	}
}
