package mosquittotest

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsTheTestedConfiguration keeps the README's Mosquitto
// configuration and ACL equal to the ones the tests run Mosquitto with.
func TestREADMEShowsTheTestedConfiguration(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for name, want := range map[string]string{
		"mosquitto.conf": Config(1883, "/var/lib/mosquitto"),
		"acl":            ACL,
	} {
		if !strings.Contains(readme, "```\n"+want+"```") {
			t.Errorf("README.md lacks the tested %s; it should read, in a ``` block:\n%s", name, want)
		}
	}
}
