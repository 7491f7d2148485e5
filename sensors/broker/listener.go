package broker

import (
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// tcpListener is a mochi listener over a net.Listener that Start has
// already bound, so that Start reports a taken port itself and Addr is
// known before the broker serves.
//
// It differs from mochi's listeners.TCP in how it stops: that one closes
// its clients first and its socket after, and a connection accepted in
// between is neither served nor closed, so a client reconnecting to a
// broker that is shutting down hangs until its connect timeout (10 s for
// the ingest) before it tries the broker that replaced it. This one stops
// accepting first, and closes whatever it accepts after that.
type tcpListener struct {
	id  string
	ln  net.Listener
	end atomic.Bool
	log *slog.Logger
}

var _ listeners.Listener = (*tcpListener)(nil)

func (l *tcpListener) ID() string       { return l.id }
func (l *tcpListener) Address() string  { return l.ln.Addr().String() }
func (l *tcpListener) Protocol() string { return "tcp" }

// Init only keeps the logger: the socket is already bound.
func (l *tcpListener) Init(log *slog.Logger) error {
	l.log = log
	return nil
}

// Serve accepts connections until Close, handing each to establish on a
// goroutine of its own.
func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		if l.end.Load() {
			conn.Close()
			return
		}
		go func() {
			if err := establish(l.id, conn); err != nil {
				l.log.Warn("mqtt connection ended", "error", err, "remote", conn.RemoteAddr().String())
			}
		}()
	}
}

// Close stops accepting, then closes the listener's clients. It may be
// called more than once.
func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	if l.end.Swap(true) {
		return
	}
	l.ln.Close()
	closeClients(l.id)
}
