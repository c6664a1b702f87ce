package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// fault is what the proxy does with one request.
type fault struct {
	status int  // answer with this status instead of forwarding
	cut    bool // close the connection without an answer
}

var pass = fault{}

// faultProxy sits in front of the loopback registry and injects faults.
// It listens on one of the ports scripts/testenv configured BuildKit to
// reach over plain HTTP (localhost:5001-5003).
type faultProxy struct {
	mu   sync.Mutex
	rule func(r *http.Request) fault
	seen []string // "METHOD path" of every request
}

func startProxy(t *testing.T, port string) *faultProxy {
	t.Helper()
	upstream, _ := url.Parse("http://" + env.Registry)
	forward := httputil.NewSingleHostReverseProxy(upstream)
	p := &faultProxy{rule: func(*http.Request) fault { return pass }}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("fault proxy on %s: %v", port, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.Path)
		f := p.rule(r)
		p.mu.Unlock()
		switch {
		case f.cut:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		case f.status == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="gantry-test"`)
			w.WriteHeader(f.status)
		case f.status != 0:
			w.WriteHeader(f.status)
		default:
			forward.ServeHTTP(w, r)
		}
	})}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("fault proxy: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return p
}

// set replaces the rule for the requests that follow.
func (p *faultProxy) set(rule func(r *http.Request) fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = rule
	p.seen = nil
}

// count returns how many requests so far were "METHOD path".
func (p *faultProxy) count(request string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.seen {
		if s == request {
			n++
		}
	}
	return n
}
