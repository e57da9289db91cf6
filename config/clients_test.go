package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

var (
	testHashA = HashKey("llmgw_a")
	testHashB = HashKey("llmgw_b")
)

func goodClients() string {
	return `{
  "auth": {"disabled": false},
  "clients": [
    {"name": "rails-app", "key_sha256": "` + testHashA + `", "routes": ["career_advice"], "quota_group": "web"},
    {"name": "ops", "key_sha256": "` + testHashB + `", "routes": ["*"],
     "allow_model_override": true, "allow_forced_variant": true, "allow_all_usage": true}
  ]
}`
}

func loadClients(t *testing.T, data string) (*Clients, error) {
	t.Helper()
	return LoadClients(fstest.MapFS{ClientsFile: {Data: []byte(data)}})
}

func TestLoadClientsGood(t *testing.T) {
	c, err := loadClients(t, goodClients())
	if err != nil {
		t.Fatal(err)
	}
	want := Client{Name: "rails-app", KeySHA256: testHashA, Routes: []string{"career_advice"}, QuotaGroup: "web"}
	if c.Auth.Disabled || len(c.Clients) != 2 || fmt.Sprint(c.Clients[0]) != fmt.Sprint(want) ||
		!c.Clients[1].AllowModelOverride || !c.Clients[1].AllowForcedVariant || !c.Clients[1].AllowAllUsage {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadClientsMissingFileIsNil(t *testing.T) {
	c, err := LoadClients(fstest.MapFS{})
	if c != nil || err != nil {
		t.Fatalf("LoadClients of an empty directory = %v, %v; want nil, nil", c, err)
	}
}

func TestLoadClientsDisabledNeedsNoClients(t *testing.T) {
	c, err := loadClients(t, `{"auth": {"disabled": true}}`)
	if err != nil || !c.Auth.Disabled {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestLoadClientsErrorsNameFileAndPath(t *testing.T) {
	replace := func(old, repl string) string { return strings.Replace(goodClients(), old, repl, 1) }
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"not JSON", `{"clients": [`, []string{`clients.json: invalid JSON at line 1`}},
		{"unknown top-level field", replace(`"auth"`, `"authentication"`),
			[]string{`clients.json: $: unknown field "authentication"`}},
		{"unknown auth field", replace(`"disabled"`, `"off"`),
			[]string{`clients.json: $.auth: unknown field "off"`}},
		{"unknown client field", replace(`"quota_group"`, `"quota"`),
			[]string{`clients.json: $.clients[0]: unknown field "quota"`}},
		{"wrong type", replace(`"routes": ["*"]`, `"routes": "*"`),
			[]string{`clients.json: $.clients[1].routes: must be []string, not string`}},
		{"clients not a list", `{"clients": {}}`, []string{`clients.json: $.clients: must be`}},
		{"no clients", `{"clients": []}`, []string{`clients.json: $.clients: at least one client is required`}},
		{"bad name", replace(`"rails-app"`, `"rails app"`),
			[]string{`clients.json: $.clients[0].name: is required and must match`}},
		{"missing name", replace(`"name": "rails-app", `, ``),
			[]string{`clients.json: $.clients[0].name: is required`}},
		{"reserved name", replace(`"rails-app"`, `"anonymous"`),
			[]string{`clients.json: $.clients[0].name: "anonymous" is reserved`}},
		{"duplicate name", replace(`"ops"`, `"rails-app"`),
			[]string{`clients.json: $.clients[1].name: duplicate client name "rails-app" (also $.clients[0])`}},
		{"missing hash", replace(`"key_sha256": "`+testHashA+`", `, ``),
			[]string{`clients.json: $.clients[0].key_sha256: is required`}},
		{"uppercase hash", replace(testHashA, strings.ToUpper(testHashA)),
			[]string{`clients.json: $.clients[0].key_sha256: must be a SHA-256 as 64 lowercase hex digits`}},
		{"short hash", replace(testHashA, testHashA[:63]),
			[]string{`clients.json: $.clients[0].key_sha256: must be a SHA-256`}},
		{"hash of empty key", replace(testHashA, HashKey("")),
			[]string{`clients.json: $.clients[0].key_sha256: is the SHA-256 of an empty key`}},
		{"duplicate hash", replace(testHashB, testHashA),
			[]string{`clients.json: $.clients[1].key_sha256: same key as $.clients[0]`}},
		{"no routes", replace(`"routes": ["career_advice"]`, `"routes": []`),
			[]string{`clients.json: $.clients[0].routes: at least one route is required`}},
		{"bad route", replace(`["career_advice"]`, `["career advice"]`),
			[]string{`clients.json: $.clients[0].routes[0]: must be "*" or a route name`}},
		{"duplicate route", replace(`["career_advice"]`, `["career_advice", "career_advice"]`),
			[]string{`clients.json: $.clients[0].routes[1]: route "career_advice" listed twice`}},
		{"bad quota group", replace(`"web"`, `"web app"`),
			[]string{`clients.json: $.clients[0].quota_group: must match`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadClients(t, tt.data)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err is %T, want config.Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadClientsReportsEveryProblem(t *testing.T) {
	data := `{"clients": [{"name": "", "key_sha256": "x", "routes": []}]}`
	_, err := loadClients(t, data)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("got %v; want 3 errors (name, key_sha256, routes)", err)
	}
}

// An operator who pastes a plaintext key where its hash belongs must not
// see the key repeated in logs of the refused configuration.
func TestLoadClientsNeverQuotesAKey(t *testing.T) {
	key, _ := NewKey()
	for name, value := range map[string]string{
		"generated key":    key,
		"other plaintext":  "sk-live-0123456789abcdef",
		"almost a hash":    strings.Repeat("A", 64),
		"long plaintext":   strings.Repeat("z", 80),
		"hash with spaces": " " + testHashA,
	} {
		t.Run(name, func(t *testing.T) {
			data := strings.Replace(goodClients(), testHashA, value, 1)
			_, err := loadClients(t, data)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if strings.Contains(err.Error(), strings.TrimSpace(value)) {
				t.Fatalf("error quotes the key: %v", err)
			}
			if !strings.Contains(err.Error(), "$.clients[0].key_sha256") {
				t.Fatalf("error does not name the field: %v", err)
			}
		})
	}
	_, err := loadClients(t, strings.Replace(goodClients(), testHashA, key, 1))
	if !strings.Contains(err.Error(), "plaintext API key") {
		t.Errorf("a pasted llmgw_ key is not called out as one: %v", err)
	}
}

func TestClientsValidateRoutes(t *testing.T) {
	c, err := loadClients(t, strings.Replace(goodClients(), `["career_advice"]`, `["career_advice", "interview_prep"]`, 1))
	if err != nil {
		t.Fatal(err)
	}
	errs := c.ValidateRoutes(map[string]bool{"career_advice": true, "resume_review": true})
	if len(errs) != 1 || errs[0].Error() != `clients.json: $.clients[0].routes[1]: unknown route "interview_prep" (not in ab_test_config.json)` {
		t.Fatalf("ValidateRoutes = %v", errs)
	}
	if errs := c.ValidateRoutes(map[string]bool{"career_advice": true, "interview_prep": true}); errs != nil {
		t.Fatalf("ValidateRoutes with every route known = %v", errs)
	}
}

func TestHashKey(t *testing.T) {
	// The SHA-256 test vector of FIPS 180-2.
	if got, want := HashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashKey(abc) = %s, want %s", got, want)
	}
}

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		key, hash := NewKey()
		rest, ok := strings.CutPrefix(key, APIKeyPrefix)
		if !ok || len(rest) != keyDigits || strings.Trim(rest, base62) != "" {
			t.Fatalf("NewKey() key = %q; want %q and %d base62 digits", key, APIKeyPrefix, keyDigits)
		}
		if hash != HashKey(key) || !hashPattern.MatchString(hash) {
			t.Fatalf("NewKey() hash = %q, want HashKey(key)", hash)
		}
		if seen[key] {
			t.Fatalf("NewKey() repeated %q", key)
		}
		seen[key] = true
	}
}

func FuzzLoadClients(f *testing.F) {
	f.Add(goodClients())
	f.Add(`{"auth": {"disabled": true}}`)
	f.Add(`{"clients": [null, {}, {"routes": [1]}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		c, err := loadClients(t, data)
		if err == nil && c == nil {
			t.Fatal("nil clients without an error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), ClientsFile+": ") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func ExampleHashKey() {
	fmt.Println(HashKey("llmgw_example"))
	// Output: e3bf88ba36f4ead14caa68b77be84ac99a0448210a797f5cbbbfac4d26066a40
}
