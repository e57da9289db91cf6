package auth

import (
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/careerpath/llmgateway/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testClients returns a clients.json with two clients and their keys.
func testClients(t *testing.T) (c *config.Clients, railsKey, opsKey string) {
	t.Helper()
	railsKey, railsHash := config.NewKey()
	opsKey, opsHash := config.NewKey()
	c = &config.Clients{Clients: []config.Client{
		{Name: "rails-app", KeySHA256: railsHash, Routes: []string{"career_advice"}, QuotaGroup: "web"},
		{Name: "ops", KeySHA256: opsHash, Routes: []string{"*"}, AllowModelOverride: true, AllowForcedVariant: true, AllowAllUsage: true},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c, railsKey, opsKey
}

func TestKeyStoreLookup(t *testing.T) {
	cfg, railsKey, opsKey := testClients(t)
	ks, err := NewKeyStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Disabled() || ks.Len() != 2 {
		t.Fatalf("store = %v, disabled %v", ks, ks.Disabled())
	}
	c, ok := ks.Lookup(railsKey)
	if !ok || c.Name != "rails-app" || c.QuotaGroup != "web" || c.AllowModelOverride || c.AllowAllUsage {
		t.Fatalf("Lookup(rails key) = %+v, %v", c, ok)
	}
	c, ok = ks.Lookup(opsKey)
	if !ok || c.Name != "ops" || c.QuotaGroup != "ops" || !c.AllowModelOverride || !c.AllowForcedVariant || !c.AllowAllUsage {
		t.Fatalf("Lookup(ops key) = %+v, %v; want quota group defaulting to the name", c, ok)
	}

	last := railsKey[len(railsKey)-1]
	nearMiss := railsKey[:len(railsKey)-1] + string(last^1)
	for name, key := range map[string]string{
		"empty":                    "",
		"near miss":                nearMiss,
		"prefix":                   railsKey[:len(railsKey)-1],
		"longer":                   railsKey + "x",
		"the stored hash, not key": config.HashKey(railsKey),
		"upper case":               strings.ToUpper(railsKey),
	} {
		if c, ok := ks.Lookup(key); ok {
			t.Errorf("Lookup(%s) = %v; want no client", name, c.Name)
		}
	}
}

// A leaked clients.json must not let anyone in: the stored hash is not a
// key, and no key hashes to it but the real one.
func TestStoredHashIsNotAKey(t *testing.T) {
	cfg, _, _ := testClients(t)
	ks, err := NewKeyStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range cfg.Clients {
		if _, ok := ks.Lookup(cl.KeySHA256); ok {
			t.Errorf("the hash of %s's key is accepted as a key", cl.Name)
		}
	}
}

func TestNewKeyStoreErrors(t *testing.T) {
	if _, err := NewKeyStore(nil); err == nil {
		t.Error("NewKeyStore(nil) succeeded; a missing clients.json must not disable auth silently")
	}
	plaintext, _ := config.NewKey()
	cfg := &config.Clients{Clients: []config.Client{{Name: "a", KeySHA256: plaintext, Routes: []string{"*"}}}}
	_, err := NewKeyStore(cfg)
	if err == nil || strings.Contains(err.Error(), plaintext) || !strings.Contains(err.Error(), "$.clients[0].key_sha256") {
		t.Errorf("NewKeyStore(plaintext key) error = %v; want the field named, the value not quoted", err)
	}
	_, h := config.NewKey()
	cfg = &config.Clients{Clients: []config.Client{{Name: "a", KeySHA256: h}, {Name: "b", KeySHA256: h}}}
	if _, err := NewKeyStore(cfg); err == nil {
		t.Error("NewKeyStore with a shared key succeeded")
	}
}

func TestDisabledKeyStore(t *testing.T) {
	if !DisabledKeyStore().Disabled() {
		t.Fatal("DisabledKeyStore is not disabled")
	}
	ks, err := NewKeyStore(&config.Clients{Auth: config.AuthSettings{Disabled: true}})
	if err != nil || !ks.Disabled() {
		t.Fatalf("NewKeyStore(disabled) = %v, %v", ks, err)
	}
}

func TestKeyStoreStringHidesHashes(t *testing.T) {
	cfg, _, _ := testClients(t)
	ks, err := NewKeyStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := ks.String()
	for _, cl := range cfg.Clients {
		if strings.Contains(s, cl.KeySHA256) {
			t.Fatalf("String() = %q shows a hash", s)
		}
	}
}

func TestAllowsRoute(t *testing.T) {
	c := &Client{Routes: []string{"career_advice", "skills_gap"}}
	if !c.AllowsRoute("career_advice") || !c.AllowsRoute("skills_gap") || c.AllowsRoute("resume_review") || c.AllowsRoute("") {
		t.Error("AllowsRoute with listed routes is wrong")
	}
	all := &Client{Routes: []string{"career_advice", "*"}}
	if !all.AllowsRoute("resume_review") {
		t.Error(`AllowsRoute with "*" refuses a route`)
	}
}

func TestAnonymousIsACopy(t *testing.T) {
	a := Anonymous()
	if a.Name != "anonymous" || !a.AllowsRoute("anything") || !a.AllowModelOverride || !a.AllowForcedVariant || !a.AllowAllUsage {
		t.Fatalf("Anonymous() = %+v", a)
	}
	a.Routes[0] = "nothing"
	a.AllowModelOverride = false
	if b := Anonymous(); !slices.Equal(b.Routes, []string{"*"}) || !b.AllowModelOverride {
		t.Fatal("changing one Anonymous() changes the next")
	}
}
