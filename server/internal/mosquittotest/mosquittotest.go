// Package mosquittotest runs a private Mosquitto for tests, configured as
// the README's "Mosquitto" section tells an operator to configure one for
// Baoshui: no anonymous clients, a password file written by
// mosquitto_passwd, an ACL that lets each device publish only its own
// station's readings (pattern %u), persistence, and queue limits raised so
// that a burst for an offline server session is not dropped. Config is that
// configuration; the tests start Mosquitto with it, so the README's text is
// the tested one.
package mosquittotest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ServerUser is the username the Baoshui server connects with.
const ServerUser = "baoshui-server"

// ACL is the access control list of the README: the server reads every
// station's readings (also through a shared subscription), writes the
// alerts, and reads and writes the servers' presences (the takeover of a
// silent server's share); a device (username = station id) writes its own readings and
// reads its own alerts. Mosquitto denies everything else.
const ACL = `user baoshui-server
topic read baoshui/v1/stations/+/readings
topic write baoshui/v1/alerts/#
topic readwrite baoshui/v1/servers/+/presence

pattern write baoshui/v1/stations/%u/readings
pattern read baoshui/v1/alerts/%u
`

// Config returns the mosquitto.conf of the README for a listener on port,
// with its files in dir.
//
//   - max_inflight_messages 1000: the server's session may hold 1,000
//     unacknowledged messages (the default 20 leaves the server's batches of
//     up to 500 readings waiting on the flush timer);
//   - max_queued_messages 1000000 and max_queued_bytes 0: an offline or
//     slow server session queues up to a million readings instead of the
//     default 1,000, beyond which Mosquitto silently drops QoS 1 messages;
//   - persistence with autosave_on_changes: the queue survives a restart of
//     the broker (saved on a clean shutdown and every 1,000 changes).
func Config(port int, dir string) string {
	return fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous false
password_file %s
acl_file %s
persistence true
persistence_location %s/
autosave_interval 1000
autosave_on_changes true
max_inflight_messages 1000
max_queued_messages 1000000
max_queued_bytes 0
log_dest file %s
log_type error
log_type warning
log_type notice
`, port, filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), dir, filepath.Join(dir, "mosquitto.log"))
}

// Available reports whether mosquitto and mosquitto_passwd are installed.
func Available() bool {
	for _, b := range []string{"mosquitto", "mosquitto_passwd"} {
		if _, err := exec.LookPath(b); err != nil {
			return false
		}
	}
	return true
}

// Broker is a running private Mosquitto.
type Broker struct {
	Port int
	dir  string
	cmd  *exec.Cmd
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.Port) }

// URL is the broker's address for paho, tcp://host:port.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Start writes the configuration with the given users (name → password),
// starts Mosquitto on a free port and waits until it accepts connections.
// It skips the test when Mosquitto is not installed, unless
// BAOSHUI_TEST_REQUIRE_MOSQUITTO=1. The broker is stopped at the end of the
// test.
func Start(t testing.TB, users map[string]string) *Broker {
	t.Helper()
	if !Available() {
		if os.Getenv("BAOSHUI_TEST_REQUIRE_MOSQUITTO") == "1" {
			t.Fatal("mosquitto and mosquitto_passwd are required (BAOSHUI_TEST_REQUIRE_MOSQUITTO=1)")
		}
		t.Skip("mosquitto is not installed")
	}
	dir := t.TempDir()
	// Mosquitto refuses to read a password file others may read.
	if err := os.WriteFile(filepath.Join(dir, "passwd"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acl"), []byte(ACL), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{Port: l.Addr().(*net.TCPAddr).Port, dir: dir}
	l.Close()
	for u, p := range users {
		b.passwd(t, u, p)
	}
	conf := Config(b.Port, dir)
	if os.Geteuid() == 0 {
		// Started as root, Mosquitto switches to the user mosquitto,
		// which cannot read a test's private directory. Only tests do
		// this; the README's service runs as mosquitto.
		conf += "user root\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *Broker) passwd(t testing.TB, user, password string) {
	t.Helper()
	out, err := exec.Command("mosquitto_passwd", "-b", filepath.Join(b.dir, "passwd"), user, password).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_passwd %s: %v\n%s", user, err, out)
	}
}

// AddUser adds or replaces a user and makes the running broker reload its
// password file (SIGHUP), as an operator does after issuing a device
// credential.
func (b *Broker) AddUser(t testing.TB, user, password string) {
	t.Helper()
	b.passwd(t, user, password)
	if b.cmd != nil {
		if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the reload is asynchronous
	}
}

func (b *Broker) start(t testing.TB) {
	t.Helper()
	b.cmd = exec.Command("mosquitto", "-c", filepath.Join(b.dir, "mosquitto.conf"))
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", b.Addr()); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("mosquitto did not listen on %s; its log:\n%s", b.Addr(), b.Log())
}

// Stop stops the broker cleanly (SIGTERM: it saves its persistence file).
func (b *Broker) Stop(t testing.TB) {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// Restart stops the broker cleanly and starts it again on the same port,
// with the same persistence.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.start(t)
}

// Log returns the broker's log so far.
func (b *Broker) Log() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
	return strings.TrimSpace(string(out))
}
