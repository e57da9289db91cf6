package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	open := func(p string) bool { return p == "/healthz" }
	for _, c := range []struct {
		name, token, method, path, remote string
		hdr                               map[string]string
		basic                             string
		want                              int
	}{
		{"no token, loopback", "", "GET", "/admin/config", "127.0.0.1:5000", nil, "", 204},
		{"no token, IPv6 loopback", "", "GET", "/admin/config", "[::1]:5000", nil, "", 204},
		{"no token, remote", "", "GET", "/admin/config", "10.1.2.3:5000", nil, "", 403},
		{"no token, remote, open path", "", "GET", "/healthz", "10.1.2.3:5000", nil, "", 204},
		{"token, none sent", "s3cret", "GET", "/console/", "127.0.0.1:5000", nil, "", 401},
		{"token, wrong", "s3cret", "GET", "/console/", "10.1.2.3:5000", map[string]string{"Authorization": "Bearer s3cre"}, "", 401},
		{"token, bearer", "s3cret", "GET", "/console/", "10.1.2.3:5000", map[string]string{"Authorization": "Bearer s3cret"}, "", 204},
		{"token, basic", "s3cret", "GET", "/console/", "10.1.2.3:5000", nil, "s3cret", 204},
		{"token, basic wrong", "s3cret", "GET", "/console/", "10.1.2.3:5000", nil, "s3cretx", 401},
		{"token, open path", "s3cret", "GET", "/healthz", "10.1.2.3:5000", nil, "", 204},
		{"token, cross-site POST", "s3cret", "POST", "/admin/config/reload", "10.1.2.3:5000",
			map[string]string{"Authorization": "Bearer s3cret", "Origin": "https://evil.example"}, "", 403},
		{"token, same-origin POST", "s3cret", "POST", "/admin/config/reload", "10.1.2.3:5000",
			map[string]string{"Authorization": "Bearer s3cret", "Origin": "http://admin.test"}, "", 204},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "http://admin.test"+c.path, nil)
			r.RemoteAddr = c.remote
			for k, v := range c.hdr {
				r.Header.Set(k, v)
			}
			if c.basic != "" {
				r.SetBasicAuth("admin", c.basic)
			}
			w := httptest.NewRecorder()
			Guard(c.token, open, ok).ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("status %d, want %d (%s)", w.Code, c.want, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestGuardComparesDigests refuses tokens that share a prefix with the
// admin token, are longer or shorter, or are empty. Guard compares SHA-256
// digests of both with crypto/subtle, so the comparison's time depends on
// neither the length nor the prefix of what is presented.
func TestGuardComparesDigests(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g := Guard("0123456789abcdef", nil, ok)
	for _, tok := range []string{"0123456789abcdeX", "0", "0123456789abcdef0123456789abcdef", ""} {
		r := httptest.NewRequest(http.MethodGet, "/console/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("token %q: %d", tok, w.Code)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "127.9.9.9:1": true, "[::1]:1": true, "[::ffff:127.0.0.1]:1": true,
		"10.0.0.1:1": false, "[2001:db8::1]:1": false, "example.com:1": false, "": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v", addr, got)
		}
	}
}
