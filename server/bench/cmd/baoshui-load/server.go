package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ownServer is a baoshui process this command started on a fresh
// temporary data directory.
type ownServer struct {
	cmd     *exec.Cmd
	dir     string
	keep    bool
	url     string
	mqtt    string
	bin     string
	env     []string // the BAOSHUI_* variables it was given
	logPath string
	startup time.Duration
	exited  chan struct{}
	exitErr error
	built   bool
	logFile *os.File
}

// startServer starts cfg.Bin (building it when missing) with the demo
// year, the stations file, a free HTTP port and a free port for its
// embedded MQTT broker, and waits until it is ready (loading the demo year
// takes about 15–30 s).
func startServer(cfg Config, logw io.Writer) (*ownServer, error) {
	dir, err := os.MkdirTemp("", "baoshui-load-")
	if err != nil {
		return nil, err
	}
	s := &ownServer{dir: dir, keep: cfg.KeepData, exited: make(chan struct{})}
	bin := cfg.Bin
	if _, err := os.Stat(bin); bin == "" || err != nil {
		bin = filepath.Join(dir, "baoshui")
		fmt.Fprintf(logw, "baoshui-load: %q not found: building %s\n", cfg.Bin, bin)
		build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
		build.Stdout, build.Stderr = logw, logw
		if err := build.Run(); err != nil {
			s.cleanup()
			return nil, fmt.Errorf("go build ./server/cmd/baoshui (run from the repository root): %w", err)
		}
		s.built = true
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	s.bin = bin
	httpAddr, err := freeAddr()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	mqttAddr, err := freeAddr()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	s.url, s.mqtt = "http://"+httpAddr, mqttAddr
	s.env = []string{
		"BAOSHUI_DATA_DIR=" + filepath.Join(dir, "data"),
		"BAOSHUI_HTTP_ADDR=" + httpAddr,
		"BAOSHUI_MQTT_ADDR=" + mqttAddr,
		"BAOSHUI_DEMO=1",
		"BAOSHUI_SIMULATE=0",
		"BAOSHUI_WRITE_RATE=0",
		"BAOSHUI_LOG_LEVEL=warn",
	}
	if cfg.StationsFile != "" {
		if abs, err := filepath.Abs(cfg.StationsFile); err == nil {
			if _, err := os.Stat(abs); err == nil {
				s.env = append(s.env, "BAOSHUI_STATIONS_FILE="+abs)
			}
		}
	}
	s.logPath = filepath.Join(dir, "server.log")
	s.logFile, err = os.Create(s.logPath)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve")
	// The environment is this one's, with ours last (the last value of a
	// repeated variable wins).
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	t0 := time.Now()
	fmt.Fprintf(logw, "baoshui-load: starting %s serve (%s), loading the demo year…\n", bin, strings.Join(s.env, " "))
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, err
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(5 * time.Minute); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n--- server log ---\n%s", err, s.logTail())
	}
	s.startup = time.Since(t0)
	fmt.Fprintf(logw, "baoshui-load: server ready on %s (MQTT %s) after %s\n", s.url, s.mqtt, s.startup.Round(time.Millisecond))
	return s, nil
}

func (s *ownServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 5 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited before it was ready: %v", s.exitErr)
		default:
		}
		if resp, err := hc.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server was not ready within %s", limit)
}

// pid is the server's process id.
func (s *ownServer) pid() int { return s.cmd.Process.Pid }

// stop interrupts the server (a clean shutdown), kills it after 30 s, and
// removes its data directory unless it is kept.
func (s *ownServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(os.Interrupt)
			select {
			case <-s.exited:
			case <-time.After(30 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	s.cleanup()
}

func (s *ownServer) cleanup() {
	if s.logFile != nil {
		s.logFile.Close()
	}
	if !s.keep {
		os.RemoveAll(s.dir)
	}
}

// logTail is the end of the server's log.
func (s *ownServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// warnings counts the lines of the server's log at warn level and above
// (it runs with BAOSHUI_LOG_LEVEL=warn) and returns the first few.
func (s *ownServer) warnings() (int, []string) {
	b, _ := os.ReadFile(s.logPath)
	n := 0
	var first []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		l := string(bytes.TrimSpace(line))
		if !strings.Contains(l, `"level":"WARN"`) && !strings.Contains(l, `"level":"ERROR"`) {
			continue
		}
		n++
		if len(first) < 5 {
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			first = append(first, l)
		}
	}
	return n, first
}

// freeAddr is a free TCP address on the loopback interface.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
