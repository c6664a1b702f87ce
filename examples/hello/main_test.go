package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEndpoints(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok\n"},
		{"/readyz", "ready\n"},
		{"/", "hello from gantry\n"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var body [64]byte
		n, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body[:n]) != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, resp.StatusCode, body[:n], tc.want)
		}
	}
	resp, err := http.Get(srv.URL + "/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v["version"] != version || v["commit"] != commit {
		t.Errorf("GET /version = %v, %v", v, err)
	}
}
