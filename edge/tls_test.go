package edge_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/edge"
	core "github.com/careerpath/llmgateway/gateway"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64 = 100

func newSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for 127.0.0.1 signed by ca, for
// a server or a client.
func (ca *testCA) issue(t *testing.T, name string, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// syncBuffer is a log destination that tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tlsGateway is a gateway serving TLS from files in dir.
type tlsGateway struct {
	*gateway
	dir  string
	ca   *testCA
	logs *syncBuffer
}

func startTLSGateway(t *testing.T, clientCA *testCA, auth edge.ClientAuth) *tlsGateway {
	t.Helper()
	ca := newCA(t, "server CA")
	dir := t.TempDir()
	certPEM, keyPEM := ca.issue(t, "gateway-1", false)
	writeFile(t, dir, "tls.crt", string(certPEM))
	writeFile(t, dir, "tls.key", string(keyPEM))
	opts := edge.TLSOptions{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), ClientAuth: auth}
	if clientCA != nil {
		writeFile(t, dir, "client-ca.crt", string(clientCA.pem))
		opts.ClientCAFile = filepath.Join(dir, "client-ca.crt")
	}
	logs := &syncBuffer{}
	g := startGatewayOpts(t, sim.Config{}, map[string]string{"provider_settings.json": testProviders, "ab_test_config.json": testRoutes},
		edge.Options{TLS: opts, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return &tlsGateway{gateway: g, dir: dir, ca: ca, logs: logs}
}

// grpcTLS calls Complete over TLS, with a client certificate when given.
func (g *tlsGateway) grpcTLS(t *testing.T, client *tls.Certificate) error {
	t.Helper()
	cfg := &tls.Config{RootCAs: g.ca.pool(), MinVersion: tls.VersionTLS12}
	if client != nil {
		// Sent whatever CAs the server names, so that a rogue
		// certificate really reaches it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = gatewayv1.NewLLMGatewayClient(conn).Complete(ctx, request("openai_only", ""))
	return err
}

// restTLS posts to /v1/complete over HTTPS and returns the status code.
func (g *tlsGateway) restTLS(t *testing.T, client *tls.Certificate) (int, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: g.ca.pool(), MinVersion: tls.VersionTLS12}
	if client != nil {
		// Sent whatever CAs the server names, so that a rogue
		// certificate really reaches it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	body, _ := marshalJSON(request("openai_only", ""))
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Post(
		"https://"+g.httpAddr+"/v1/complete", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// servedSerial is the serial number of the certificate addr presents.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool, proto string) *big.Int {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, NextProtos: []string{proto}, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

func TestTLSServesGRPCAndRESTAndRefusesPlaintext(t *testing.T) {
	g := startTLSGateway(t, nil, "")
	if err := g.grpcTLS(t, nil); err != nil {
		t.Fatalf("gRPC over TLS: %v", err)
	}
	if code, err := g.restTLS(t, nil); err != nil || code != http.StatusOK {
		t.Fatalf("REST over TLS: %d %v", code, err)
	}

	// Plaintext gRPC does not get through.
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_, err = gatewayv1.NewLLMGatewayClient(conn).Complete(ctxT(t), request("openai_only", ""))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext gRPC: %v, want Unavailable", err)
	}
	// Plaintext HTTP is answered with a refusal, never a completion.
	resp, err := http.Post("http://"+g.httpAddr+"/v1/complete", "application/json", strings.NewReader(`{}`))
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plaintext HTTP: %d, want 400", resp.StatusCode)
		}
	}
	// A client that does not trust the gateway's CA refuses it.
	other := newCA(t, "someone else")
	g.ca = other
	if err := g.grpcTLS(t, nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("untrusted server certificate: %v", err)
	}
}

func TestMTLSRequireRefusesCallersWithoutACertificate(t *testing.T) {
	clientCA := newCA(t, "client CA")
	g := startTLSGateway(t, clientCA, edge.ClientAuthRequire)
	certPEM, keyPEM := clientCA.issue(t, "rails-app", true)
	good, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roguePEM, rogueKey := newCA(t, "rogue CA").issue(t, "rails-app", true)
	rogue, _ := tls.X509KeyPair(roguePEM, rogueKey)

	if err := g.grpcTLS(t, nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC without a client certificate: %v, want Unavailable", err)
	}
	if err := g.grpcTLS(t, &rogue); status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC with a certificate of another CA: %v, want Unavailable", err)
	}
	if code, err := g.restTLS(t, nil); err == nil {
		t.Fatalf("REST without a client certificate: %d", code)
	}
	if err := g.grpcTLS(t, &good); err != nil {
		t.Fatalf("gRPC with a client certificate: %v", err)
	}
	if code, err := g.restTLS(t, &good); err != nil || code != http.StatusOK {
		t.Fatalf("REST with a client certificate: %d %v", code, err)
	}
}

func TestMTLSVerifyIfGiven(t *testing.T) {
	clientCA := newCA(t, "client CA")
	g := startTLSGateway(t, clientCA, edge.ClientAuthVerifyIfGiven)
	if err := g.grpcTLS(t, nil); err != nil {
		t.Fatalf("gRPC without a client certificate: %v", err)
	}
	roguePEM, rogueKey := newCA(t, "rogue CA").issue(t, "x", true)
	rogue, _ := tls.X509KeyPair(roguePEM, rogueKey)
	if err := g.grpcTLS(t, &rogue); status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC with a certificate of another CA: %v, want Unavailable", err)
	}
}

func TestTLSCertificateIsReloadedAndABadOneIgnored(t *testing.T) {
	g := startTLSGateway(t, nil, "")
	first := servedSerial(t, g.httpAddr, g.ca.pool(), "http/1.1")

	// A new certificate from the same CA, written in place.
	certPEM, keyPEM := g.ca.issue(t, "gateway-2", false)
	writeFile(t, g.dir, "tls.key", string(keyPEM))
	writeFile(t, g.dir, "tls.crt", string(certPEM))
	block, _ := pem.Decode(certPEM)
	want, _ := x509.ParseCertificate(block.Bytes)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, gr := servedSerial(t, g.httpAddr, g.ca.pool(), "http/1.1"), servedSerial(t, g.grpcAddr, g.ca.pool(), "h2")
		if h.Cmp(want.SerialNumber) == 0 && gr.Cmp(want.SerialNumber) == 0 {
			break
		}
		if h.Cmp(first) != 0 && h.Cmp(want.SerialNumber) != 0 {
			t.Fatalf("served serial %v, neither the old %v nor the new %v", h, first, want.SerialNumber)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new certificate was not served: http %v grpc %v, want %v", h, gr, want.SerialNumber)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := g.grpcTLS(t, nil); err != nil {
		t.Fatalf("gRPC after reload: %v", err)
	}

	// A broken replacement is logged and the last good certificate stays.
	writeFile(t, g.dir, "tls.crt", "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
	for !strings.Contains(g.logs.String(), "keeping the last good certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the refused certificate:\n%s", g.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := servedSerial(t, g.httpAddr, g.ca.pool(), "http/1.1"); got.Cmp(want.SerialNumber) != 0 {
		t.Fatalf("after a bad replacement the gateway serves %v, want %v", got, want.SerialNumber)
	}
	if err := g.grpcTLS(t, nil); err != nil {
		t.Fatalf("gRPC after a bad replacement: %v", err)
	}
	if strings.Contains(g.logs.String(), "PRIVATE KEY") {
		t.Fatal("a log line holds key material")
	}
}

func TestTLSRefusesToStartOnBadFiles(t *testing.T) {
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := core.BuildRuntime(cfg, core.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	dir := t.TempDir()
	writeFile(t, dir, "tls.crt", "garbage")
	writeFile(t, dir, "tls.key", "garbage")
	for _, opts := range []edge.TLSOptions{
		{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")},
		{CertFile: filepath.Join(dir, "tls.crt")},
		{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: filepath.Join(dir, "tls.key")},
		{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), ClientAuth: edge.ClientAuthRequire},
		{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), ClientCAFile: filepath.Join(dir, "tls.crt"), ClientAuth: "sometimes"},
	} {
		_, err := edge.New(edge.Options{TLS: opts}, rt)
		if err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%+v: err = %v, want a tls error", opts, err)
		}
	}
}
