package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/xuri/excelize/v2"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/console"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/monitoring"
)

// requireBrowser skips the test unless BAOSHUI_E2E=1, and then fails it when
// something the browser run needs is missing: the bundle built into this
// test binary (make console), Debian's chromium, node and playwright-core.
func requireBrowser(t *testing.T) (webDir string) {
	t.Helper()
	if os.Getenv("BAOSHUI_E2E") != "1" {
		t.Skip("the console's browser run needs BAOSHUI_E2E=1 (make test-e2e installs and builds what it needs)")
	}
	c, err := console.New(console.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Built() {
		t.Fatal("this test binary embeds the placeholder, not the console: run make console before the test")
	}
	chromium := os.Getenv("BAOSHUI_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	webDir = repoPath(t, "server/console/web")
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in %s (make console runs npm ci): %v", webDir, err)
	}
	return webDir
}

// TestConsoleEndToEnd serves the 2020 demo year with simulated stations and
// drives the console in headless Chromium (server/console/web/e2e/run.mjs):
// sign-in, the map's clusters against the API, filtering by kind, a
// marker's popup, a photo, heat, zones and track playback, the totals page
// against the 2020 report, its CSV and XLSX downloads, water quality with a
// chart and an acknowledged alert, the English switch, sign-out, and an
// officer refused. The script fails on any console error or failed request.
// The downloads it saved are then read back here, the XLSX with excelize.
func TestConsoleEndToEnd(t *testing.T) {
	webDir := requireBrowser(t)
	dir := t.TempDir()
	a := start(t, testConfig(t, dir, "-demo", "1", "-stations-file", repoPath(t, "testdata/stations.json"),
		"-simulate", "1", "-simulate-speed", "20000"))
	office := newClient(t, a.URL()).login("office", demo.Password)

	// The simulator gives the charts their day of readings. An alert that
	// stays open comes from a station of our own, which publishes three
	// readings worse than Class V over the embedded broker and then nothing.
	waitFor(t, 3*time.Minute, "the simulator's readings", func() bool { return samples(office, "res-dam") > 10 })
	alertStation := openAlert(t, a)

	// A record of today with a photo, for the popup's thumbnail; today, so
	// that the 2020 totals do not change.
	photo := testPNG(t)
	sum := sha256.Sum256(photo)
	sha := hex.EncodeToString(sum[:])
	if st, b, _, err := office.upload(sha, 0, int64(len(photo)), bytes.NewReader(photo), int64(len(photo)), false); err != nil || st >= 300 {
		t.Fatalf("photo upload: %d %s %v", st, b, err)
	}
	recID := "e2e-photo-1"
	body := fmt.Sprintf(`{"id":%q,"kind":"expulsion","observed_at":%q,"location":{"type":"Point","coordinates":[116.95,40.52]},"unit":"miyun","persons":2,"activity":"fishing","photos":[{"sha256":%q,"size":%d,"mime":"image/png"}]}`,
		recID, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), sha, len(photo))
	if st, b, _ := office.raw("POST", "/api/v1/records", body); st != 201 {
		t.Fatalf("record with a photo: %d %s", st, b)
	}

	// What the totals page must show for 2020, formatted for zh-CN.
	type expectation struct {
		Figures    map[string]string `json:"figures"`
		Activities map[string]string `json:"activities"`
	}
	want := expectation{
		Figures: map[string]string{"persons_cleared": "6,683", "grazing_stopped": "5", "vehicles_cleared": "879",
			"items_confiscated": "2,105", "confiscated_value_fen": "¥599,390.00", "cases_filed": "381", "fines_fen": "¥476,600.00"},
		Activities: map[string]string{"fishing": "2,543", "swimming": "1,782", "visiting": "1,986", "other": "372"},
	}
	expectJSON, _ := json.Marshal(want)

	artifacts := os.Getenv("BAOSHUI_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = repoPath(t, "server/console") + "/artifacts"
	}
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/run.mjs")
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "BAOSHUI_URL="+a.URL(), "BAOSHUI_ARTIFACTS="+artifacts,
		"BAOSHUI_PASSWORD="+demo.Password, "BAOSHUI_EXPECT="+string(expectJSON), "BAOSHUI_PHOTO_RECORD="+recID,
		"BAOSHUI_ALERT_STATION="+alertStation)
	out, err := cmd.CombinedOutput()
	t.Logf("browser run:\n%s", out)
	if err != nil {
		t.Fatalf("the browser run failed: %v (screenshots and results.json in %s)", err, artifacts)
	}

	// The downloads, read back: the same 2020 figures in both files.
	want2020 := []string{"6683", "2543", "1782", "1986", "372", "5", "879", "2105", "599390", "381", "476600"}
	wb, err := excelize.OpenFile(filepath.Join(artifacts, "totals-2020.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	for i, w := range want2020 {
		cell, _ := excelize.CoordinatesToCellName(i+2, 2)
		if v, err := wb.GetCellValue("合计", cell, excelize.Options{RawCellValue: true}); err != nil || v != w {
			t.Errorf("downloaded xlsx 合计 %s = %q, want %s (%v)", cell, v, w, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(artifacts, "totals-2020.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Error("the downloaded CSV has no UTF-8 byte order mark (Excel would misread the Chinese)")
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("downloaded csv: %v, %d rows", err, len(rows))
	}
	for i, w := range want2020 {
		if i == 8 || i == 10 {
			w += ".00" // yuan
		}
		if rows[1][i+1] != w {
			t.Errorf("downloaded csv column %s = %q, want %s", rows[0][i+1], rows[1][i+1], w)
		}
	}
	var res struct {
		Steps []struct {
			Name string `json:"name"`
		} `json:"steps"`
		Problems []string `json:"problems"`
	}
	rb, err := os.ReadFile(filepath.Join(artifacts, "results.json"))
	if err == nil {
		err = json.Unmarshal(rb, &res)
	}
	if err != nil || len(res.Problems) > 0 || len(res.Steps) < 10 {
		t.Errorf("results.json: %v, %d steps, problems %q", err, len(res.Steps), res.Problems)
	}
	for _, shot := range []string{"map.png", "map-popup.png", "map-photo.png", "map-tracks-heat.png", "totals.png", "water.png", "officer-denied.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || fi.Size() < 1000 {
			t.Errorf("screenshot %s: %v", shot, err)
		}
	}
}

// openAlert registers a station, publishes three readings with total
// phosphorus worse than Class V as its device, waits for the exceedance
// alert and returns the station's id.
func openAlert(t *testing.T, a *app.App) string {
	t.Helper()
	root := newClient(t, a.URL()).login("admin", demo.Password)
	const id = "e2e-alert"
	body := `{"id":"e2e-alert","name":"端到端测试站","name_en":"end-to-end test station","location":{"type":"Point","coordinates":[116.96,40.52]},` +
		`"water_body":"reservoir","target_class":"II","params":["ph","do_mg_l","codmn_mg_l","nh3n_mg_l","tp_mg_l"],"interval":"PT5M"}`
	if st, b, _ := root.raw("POST", "/api/v1/stations", body); st != 201 {
		t.Fatalf("station: %d %s", st, b)
	}
	var cred monitoring.IssuedCredential
	if st := root.do("POST", "/api/v1/stations/"+id+"/credentials", nil, &cred); st != 201 {
		t.Fatalf("credential: %d", st)
	}
	opts := paho.NewClientOptions().AddBroker("tcp://" + a.Broker.Addr()).SetClientID("dev-" + id).
		SetUsername(cred.Username).SetPassword(cred.Password).SetProtocolVersion(4)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	now := time.Now().Truncate(time.Second)
	for i := 3; i >= 1; i-- {
		tok := c.Publish("baoshui/v1/stations/"+id+"/readings", 1, false, readingJSON(now.Add(-time.Duration(i)*5*time.Minute), 0.35))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	waitFor(t, 30*time.Second, "the exceedance alert", func() bool {
		var al struct {
			Alerts []struct{ Station, Kind string }
		}
		root.do("GET", "/api/v1/alerts?state=open&station="+id, nil, &al)
		return len(al.Alerts) > 0
	})
	return id
}

// testPNG is a small striped picture, as a phone's photo stands in for.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(40 + x), uint8(90 + y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestConsoleServed checks that the server mounts the console beside the
// API: the page with its Content-Security-Policy at "/", its configuration,
// and API paths still answered by the API.
func TestConsoleServed(t *testing.T) {
	a := start(t, testConfig(t, t.TempDir(), "-mqtt-addr", "off", "-tile-url", "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}"))
	c := newClient(t, a.URL())
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType        string
		header, has        string
	}{
		{"page", "GET", "/", 200, "text/html", "Content-Security-Policy", "https://*.tianditu.gov.cn"},
		{"page head", "HEAD", "/", 200, "text/html", "X-Frame-Options", "DENY"},
		{"config", "GET", "/console/config.json", 200, "application/json", "Cache-Control", "no-cache"},
		{"missing asset", "GET", "/assets/nope.js", 404, "", "", ""},
		{"unknown API path stays a problem", "GET", "/api/v1/nope", 404, "application/problem+json", "", ""},
		{"API keeps its own policy", "GET", "/api/v1/openapi.json", 200, "application/json", "Content-Security-Policy", "default-src 'none'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b, h := c.raw(tc.method, tc.path, nil)
			if st != tc.status || !strings.HasPrefix(h.Get("Content-Type"), tc.contentType) {
				t.Fatalf("%s %s: %d %q %s", tc.method, tc.path, st, h.Get("Content-Type"), b)
			}
			if tc.header != "" && !strings.Contains(h.Get(tc.header), tc.has) {
				t.Errorf("%s: %q, want it to contain %q", tc.header, h.Get(tc.header), tc.has)
			}
		})
	}
	var cfg console.Config
	if st := c.do("GET", "/console/config.json", nil, &cfg); st != 200 || !strings.Contains(cfg.TileURL, "tianditu") {
		t.Errorf("config %d %+v", st, cfg)
	}
	_, err := app.LoadConfig("test", []string{"-tile-url", "file:///etc/passwd"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "BAOSHUI_TILE_URL") {
		t.Errorf("a tile URL that is not http(s): %v", err)
	}
}
