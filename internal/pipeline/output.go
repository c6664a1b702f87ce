package pipeline

import (
	"io"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
)

// sequence keeps the output of steps that run at once in the order of the
// steps, as if they had run one after the other: the first step's lane
// writes through as its output comes; each later lane is held until the
// lanes before it are closed, then written whole and through (as is
// anything written after). So the
// builds of prod and dev, run at once, still read as two log groups, and
// buildx's interactive progress on a terminal is never drawn over by
// another build (a held build's buildx writes to a pipe, so it prints
// plain progress).
type sequence struct {
	mu      sync.Mutex
	lanes   []*lane
	current int // the lane that writes through
}

// lane is one step's output in a sequence, to any number of streams.
type lane struct {
	seq    *sequence
	index  int
	held   []chunk
	closed bool
}

// chunk is one held write.
type chunk struct {
	to   io.Writer
	data []byte
}

// newSequence returns a sequence of n lanes.
func newSequence(n int) *sequence {
	s := &sequence{}
	for i := 0; i < n; i++ {
		s.lanes = append(s.lanes, &lane{seq: s, index: i})
	}
	return s
}

// Writer returns the lane's writer to w.
func (l *lane) Writer(w io.Writer) io.Writer { return laneWriter{l, w} }

type laneWriter struct {
	l  *lane
	to io.Writer
}

func (w laneWriter) Write(p []byte) (int, error) {
	s := w.l.seq
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.l.index > s.current {
		w.l.held = append(w.l.held, chunk{w.to, append([]byte(nil), p...)})
		return len(p), nil
	}
	return w.to.Write(p)
}

// direct returns the stream w writes to in the end when its lanes write
// through (the current lane stays current until its step closes it): so a
// command started by the current step writes straight to the terminal
// (buildx draws its interactive progress there), and the others to their
// lanes.
func direct(w io.Writer) io.Writer {
	for {
		lw, ok := w.(laneWriter)
		if !ok {
			return w
		}
		lw.l.seq.mu.Lock()
		through := lw.l.index <= lw.l.seq.current
		lw.l.seq.mu.Unlock()
		if !through {
			return w
		}
		w = lw.to
	}
}

// Close ends the lane: when it is the current one, the next lanes' held
// output is written, up to the first lane still open, which then writes
// through. Closing twice does nothing.
func (l *lane) Close() {
	s := l.seq
	s.mu.Lock()
	defer s.mu.Unlock()
	l.closed = true
	for s.current < len(s.lanes) && s.lanes[s.current].closed {
		s.current++
		if s.current < len(s.lanes) {
			next := s.lanes[s.current]
			for _, c := range next.held {
				c.to.Write(c.data) //nolint:errcheck // a log that cannot be written has nowhere else to go
			}
			next.held = nil
		}
	}
}

// stdout and stderr are where the run writes: the lane it runs in, or the
// process's own streams.
func (r Run) stdout() io.Writer {
	if r.Stdout != nil {
		return r.Stdout
	}
	return os.Stdout
}

func (r Run) stderr() io.Writer {
	if r.Stderr != nil {
		return r.Stderr
	}
	return os.Stderr
}

// in returns r writing to lane l: its workflow commands, its log lines
// (same level, format, hooks and fields) and its commands' output.
func (r Run) in(l *lane) Run {
	r.Stdout, r.Stderr = l.Writer(r.stdout()), l.Writer(r.stderr())
	logger := r.Log.Logger
	r.Log = logrus.NewEntry(&logrus.Logger{Out: l.Writer(logger.Out), Hooks: logger.Hooks, Formatter: logger.Formatter,
		ReportCaller: logger.ReportCaller, Level: logger.GetLevel(), ExitFunc: logger.ExitFunc}).WithFields(r.Log.Data)
	return r
}

// Actions is the GitHub Actions step this runs in; its methods do nothing
// elsewhere.
func (r Run) Actions() actions.Runner { return actions.Runner{Getenv: r.Getenv, Out: r.stdout()} }
