package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Guard lets a request through to next only when it carries the admin
// token, as "Authorization: Bearer <token>" or as the password of HTTP
// Basic authentication (what a browser prompts for; the user name is
// ignored). The token is compared in constant time. With no token
// configured (token == "") only loopback clients get through.
//
// Paths for which open reports true (health, readiness, metrics) are
// served to everyone. A request that changes something (any method but
// GET, HEAD and OPTIONS) sent by a page of another site is refused, so
// that a browser's remembered credentials cannot be used across sites.
func Guard(token string, open func(path string) bool, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if open != nil && open(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if token == "" {
			if !Loopback(r.RemoteAddr) {
				http.Error(w, "the admin endpoints answer only loopback clients: no admin token is configured", http.StatusForbidden)
				return
			}
		} else {
			got, ok := presented(r)
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="llmgateway admin", charset="UTF-8"`)
				http.Error(w, "admin token required", http.StatusUnauthorized)
				return
			}
		}
		if crossSite(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presented is the token the request carries.
func presented(r *http.Request) (string, bool) {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass, true
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// crossSite reports whether r changes something and was sent by a page of
// another origin.
func crossSite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return true
	}
	if o := r.Header.Get("Origin"); o != "" {
		return !strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://"), r.Host)
	}
	return false
}

// Loopback reports whether a remote address (host:port) is a loopback
// address (127.0.0.0/8, ::1).
func Loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
