package store

import (
	"context"
	"log/slog"
)

// lazyHandler is a slog.Handler that formats nothing until a record is
// actually logged. FerretDB calls Logger.With on every SQL statement with
// the statement's arguments (whole documents); slog's own handlers format
// those attributes at once, whatever the level — about 15% of the CPU of a
// sync push. lazyHandler only remembers them, and hands them to next when
// a record at an enabled level is handled.
type lazyHandler struct {
	next slog.Handler
	ops  []lazyOp // WithAttrs and WithGroup calls, in order
}

type lazyOp struct {
	group string
	attrs []slog.Attr
}

func (h *lazyHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	next := h.next
	for _, op := range h.ops {
		if op.attrs != nil {
			next = next.WithAttrs(op.attrs)
		} else {
			next = next.WithGroup(op.group)
		}
	}
	return next.Handle(ctx, r)
}

func (h *lazyHandler) with(op lazyOp) *lazyHandler {
	ops := make([]lazyOp, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &lazyHandler{next: h.next, ops: append(ops, op)}
}

func (h *lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(lazyOp{attrs: attrs})
}

func (h *lazyHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(lazyOp{group: name})
}
