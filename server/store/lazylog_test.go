package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLazyHandlerLogsWhatTheHandlerWould(t *testing.T) {
	var lazy, eager bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for _, c := range []struct {
		name string
		buf  *bytes.Buffer
		l    *slog.Logger
	}{
		{"lazy", &lazy, slog.New(&lazyHandler{next: slog.NewTextHandler(&lazy, opts)})},
		{"eager", &eager, slog.New(slog.NewTextHandler(&eager, opts))},
	} {
		l := c.l.With("sql", "INSERT …", "args", []any{`{"_id":"r1"}`}).WithGroup("conn").With("id", 7)
		l.Info("not logged")
		l.Warn("logged", "n", 1)
		l.WithGroup("").With().Error("also logged")
	}
	if lazy.String() != eager.String() || !strings.Contains(lazy.String(), `conn.id=7`) || strings.Contains(lazy.String(), "not logged") {
		t.Errorf("lazy:\n%s\neager:\n%s", lazy.String(), eager.String())
	}
}
