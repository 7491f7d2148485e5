package ingest

import paho "github.com/eclipse/paho.mqtt.golang"

// WithConnection returns cfg with the server's own connection opened by
// open, so that a test can cut it as a server's death would.
func WithConnection(cfg Config, open paho.OpenConnectionFunc) Config {
	cfg.openConn = open
	return cfg
}
