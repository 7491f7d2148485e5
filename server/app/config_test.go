package app

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name    string
		env     func(string) string
		args    []string
		check   func(t *testing.T, c Config)
		wantErr []string // every one must be named in the error
	}{
		{name: "defaults", env: env(), check: func(t *testing.T, c Config) {
			if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./data" || c.Demo || c.AccessTTL != 15*time.Minute || c.MongoDatabase != "baoshui" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "environment", env: env("BAOSHUI_HTTP_ADDR", "0.0.0.0:9000", "BAOSHUI_DEMO", "1", "BAOSHUI_ACCESS_TTL", "5m"),
			check: func(t *testing.T, c Config) {
				if c.HTTPAddr != "0.0.0.0:9000" || !c.Demo || c.AccessTTL != 5*time.Minute {
					t.Errorf("from the environment: %+v", c)
				}
			}},
		{name: "a flag overrides the environment", env: env("BAOSHUI_HTTP_ADDR", "0.0.0.0:9000"), args: []string{"-http-addr", "127.0.0.1:1"},
			check: func(t *testing.T, c Config) {
				if c.HTTPAddr != "127.0.0.1:1" {
					t.Errorf("flag did not win: %s", c.HTTPAddr)
				}
			}},
		{name: "every bad value is named", env: env("BAOSHUI_DEMO", "yes please", "BAOSHUI_ACCESS_TTL", "-3s", "BAOSHUI_MAX_BODY_BYTES", "12"),
			wantErr: []string{"BAOSHUI_DEMO", "BAOSHUI_ACCESS_TTL", "BAOSHUI_MAX_BODY_BYTES"}},
		{name: "bad combinations are named", env: env("BAOSHUI_HTTP_ADDR", "8080", "BAOSHUI_MONGO_URI", "http://x", "BAOSHUI_FERRETDB_POSTGRES_URL", "mysql://x",
			"BAOSHUI_BOOTSTRAP_ADMIN", "admin", "BAOSHUI_TOKEN_KEY", "abc", "BAOSHUI_LOG_LEVEL", "loud", "BAOSHUI_LOG_FORMAT", "xml"),
			wantErr: []string{"BAOSHUI_HTTP_ADDR", "BAOSHUI_MONGO_URI", "BAOSHUI_FERRETDB_POSTGRES_URL", "BAOSHUI_BOOTSTRAP_ADMIN",
				"BAOSHUI_TOKEN_KEY", "BAOSHUI_LOG_LEVEL", "BAOSHUI_LOG_FORMAT"}},
		{name: "unknown flag", env: env(), args: []string{"-no-such-flag"}, wantErr: []string{"no-such-flag"}},
		{name: "the store is served only over mutual TLS", env: env("BAOSHUI_STORE_SERVE", "0.0.0.0:27018", "BAOSHUI_STORE_TLS_CERT", "s.pem"),
			wantErr: []string{"BAOSHUI_STORE_SERVE: needs BAOSHUI_STORE_TLS_CERT, BAOSHUI_STORE_TLS_KEY and BAOSHUI_STORE_TLS_CA"}},
		{name: "only the embedded store is served", env: env("BAOSHUI_STORE_SERVE", "27018", "BAOSHUI_MONGO_URI", "mongodb://db:27017",
			"BAOSHUI_STORE_TLS_CERT", "s.pem", "BAOSHUI_STORE_TLS_KEY", "s.key", "BAOSHUI_STORE_TLS_CA", "ca.pem"),
			wantErr: []string{"with BAOSHUI_MONGO_URI there is none", "BAOSHUI_STORE_SERVE: want host:port"}},
		{name: "a served store", env: env("BAOSHUI_STORE_SERVE", "10.0.0.5:27018", "BAOSHUI_STORE_TLS_CERT", "s.pem",
			"BAOSHUI_STORE_TLS_KEY", "s.key", "BAOSHUI_STORE_TLS_CA", "ca.pem"), check: func(t *testing.T, c Config) {
			if c.StoreServe != "10.0.0.5:27018" || c.StoreTLSCA != "ca.pem" || !c.sharedStore() {
				t.Errorf("served store: %+v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig("test", tc.args, tc.env)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("accepted %+v", c)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s: %v", w, err)
				}
			}
		})
	}
}

func TestConfigHelpListsEverySetting(t *testing.T) {
	help := ConfigHelp()
	for _, s := range settings {
		if !strings.Contains(help, s.env) || !strings.Contains(help, "-"+s.flag) {
			t.Errorf("ConfigHelp lacks %s / -%s", s.env, s.flag)
		}
	}
}
