package run

import (
	"bytes"
	"io"
)

// redactWriter passes what a command writes on to w with every secret
// replaced by ***, also a secret split across writes: the end of a write
// that could begin a secret is held back until the next write shows
// whether it does, or until Flush.
type redactWriter struct {
	w io.Writer
	// secrets are non-empty, longest first, so that a secret containing
	// another is replaced whole.
	secrets [][]byte
	held    []byte
}

func newRedactWriter(w io.Writer, secrets []string) *redactWriter {
	r := &redactWriter{w: w}
	for _, s := range secrets {
		r.secrets = append(r.secrets, []byte(s))
	}
	return r
}

// Write takes all of p; an error is w's.
func (r *redactWriter) Write(p []byte) (int, error) {
	r.held = append(r.held, p...)
	out, rest := r.redact(r.held, false)
	r.held = append(r.held[:0], rest...)
	if len(out) == 0 {
		return len(p), nil
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what was held back: once the command has ended, it can
// begin no secret.
func (r *redactWriter) Flush() error {
	out, _ := r.redact(r.held, true)
	r.held = r.held[:0]
	if len(out) == 0 {
		return nil
	}
	_, err := r.w.Write(out)
	return err
}

// redact returns b with its secrets replaced, and, unless final, the end
// of b that could still begin a secret, held back instead.
func (r *redactWriter) redact(b []byte, final bool) (out, rest []byte) {
	for i := 0; i < len(b); {
		if !final && r.mayBegin(b[i:]) {
			return out, b[i:]
		}
		if s := r.secretAt(b[i:]); s != nil {
			out = append(out, redacted...)
			i += len(s)
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out, nil
}

// mayBegin reports whether tail, the end of what was written, is the
// start of a secret longer than it.
func (r *redactWriter) mayBegin(tail []byte) bool {
	for _, s := range r.secrets {
		if len(tail) < len(s) && bytes.HasPrefix(s, tail) {
			return true
		}
	}
	return false
}

// secretAt returns the longest secret b begins with, or nil.
func (r *redactWriter) secretAt(b []byte) []byte {
	for _, s := range r.secrets {
		if bytes.HasPrefix(b, s) {
			return s
		}
	}
	return nil
}
