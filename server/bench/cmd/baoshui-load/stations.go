package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// stationDef is a station as GET /api/v1/stations lists it and POST
// /api/v1/stations takes it (the fields a registration needs).
type stationDef struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	NameEN      string          `json:"name_en,omitempty"`
	Location    json.RawMessage `json:"location"`
	WaterBody   string          `json:"water_body"`
	TargetClass string          `json:"target_class"`
	Params      []string        `json:"params"`
	Interval    string          `json:"interval"`
}

// templateStation is copied for the stations the load registers on a
// server without any (res-dam of testdata/stations.json).
var templateStation = stationDef{Name: "密云水库坝前", NameEN: "Miyun Reservoir, before the dam",
	Location: json.RawMessage(`{"type":"Point","coordinates":[116.8565,40.4913]}`), WaterBody: "reservoir", TargetClass: "II",
	Params:   []string{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
	Interval: "PT5M"}

// typical are values that meet Class II of GB 3838-2002 at every station
// kind (reservoir and river), varied by a few per cent per reading.
var typical = map[string]float64{
	"ph": 7.8, "do_mg_l": 8.2, "codmn_mg_l": 2.6, "cod_mg_l": 9, "bod5_mg_l": 1.5, "nh3n_mg_l": 0.12, "tp_mg_l": 0.018,
	"tn_mg_l": 0.42, "fecal_coliform_per_l": 150, "temp_c": 18.5, "conductivity_us_cm": 310, "turbidity_ntu": 3.2, "chla_ug_l": 4.1,
}

// station is one station's device, connected to the broker.
type station struct {
	id     string
	params []string
	client paho.Client
}

// MQTTResult is what the stations' publishes did.
type MQTTResult struct {
	Registered  int   // stations the load registered
	Sent        int64 // publishes handed to the client
	Acked       int64 // PUBACKs received
	Failed      int64 // no PUBACK within -timeout, or a refusal
	StoredDelta int64 // growth of baoshui_readings_stored_total
}

// setupStations registers stations until there are -stations, issues each
// of the first -stations a new credential (as admin) and connects its
// device to the broker.
func (r *run) setupStations(mqttAddr string) ([]*station, error) {
	n := r.cfg.Stations
	if n == 0 {
		return nil, nil
	}
	var list struct {
		Stations []stationDef `json:"stations"`
	}
	if _, err := r.admin.call("", "GET", "/api/v1/stations", nil, &list); err != nil {
		return nil, fmt.Errorf("GET /api/v1/stations: %w", err)
	}
	have := map[string]bool{}
	for _, st := range list.Stations {
		have[st.ID] = true
	}
	tpl := templateStation
	if len(list.Stations) > 0 {
		tpl = list.Stations[0]
	}
	for k := 1; len(list.Stations) < n; k++ {
		id := fmt.Sprintf("load-%03d", k)
		if have[id] {
			continue
		}
		st := tpl
		st.ID, st.Name, st.NameEN = id, "负载测试站 "+strconv.Itoa(k), "Load test station "+strconv.Itoa(k)
		if _, err := r.admin.call("", "POST", "/api/v1/stations", st, nil); err != nil {
			return nil, fmt.Errorf("registering station %s: %w", id, err)
		}
		list.Stations = append(list.Stations, st)
		r.pub.Registered++
	}
	out := make([]*station, 0, n)
	for _, def := range list.Stations[:n] {
		var cred struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if _, err := r.admin.call("", "POST", "/api/v1/stations/"+def.ID+"/credentials", nil, &cred); err != nil {
			return out, fmt.Errorf("issuing the credential of %s: %w", def.ID, err)
		}
		opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(def.ID).
			SetUsername(cred.Username).SetPassword(cred.Password).SetProtocolVersion(4).
			SetCleanSession(true).SetOrderMatters(false).SetKeepAlive(30 * time.Second).
			SetAutoReconnect(true).SetConnectTimeout(r.cfg.Timeout)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(r.cfg.Timeout) || tok.Error() != nil {
			return out, fmt.Errorf("station %s: MQTT connect to %s: %v", def.ID, mqttAddr, tok.Error())
		}
		out = append(out, &station{id: def.ID, params: def.Params, client: c})
	}
	return out, nil
}

// station publishes one reading of st at QoS 1 every -publish-interval
// and times each until its PUBACK, which the embedded broker sends once
// the reading is stored.
func (r *run) station(i int, st *station, start time.Time) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(3_000_000+i)))
	topic := "baoshui/v1/stations/" + st.id + "/readings"
	next := start.Add(time.Duration(rng.Int64N(int64(r.cfg.PublishInterval))))
	var last time.Time
	for r.pace(next) {
		ts := time.Now().UTC().Truncate(time.Millisecond)
		if !ts.After(last) {
			ts = last.Add(time.Millisecond) // one reading per instant: {station}:{ts} is its id
		}
		last = ts
		msg := map[string]any{"ts": ts.Format("2006-01-02T15:04:05.000Z07:00")}
		for _, p := range st.params {
			if v, ok := typical[p]; ok {
				msg[p] = round6(v * (1 + (rng.Float64()-0.5)*0.04))
			}
		}
		payload, _ := json.Marshal(msg)
		t0 := time.Now()
		tok := st.client.Publish(topic, 1, false, payload)
		r.pubMu.Lock()
		r.pub.Sent++
		r.pubMu.Unlock()
		failure := ""
		switch {
		case !tok.WaitTimeout(r.cfg.Timeout):
			failure = "no PUBACK within " + r.cfg.Timeout.String()
		case tok.Error() != nil:
			failure = tok.Error().Error()
		}
		d := time.Since(t0)
		r.pubMu.Lock()
		if failure == "" {
			r.pub.Acked++
		} else {
			r.pub.Failed++
		}
		r.pubMu.Unlock()
		r.rec.observe(epPublish, d, failure)
		next = after(next, r.cfg.PublishInterval)
	}
}
