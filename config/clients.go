package config

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"regexp"
	"strings"

	"github.com/careerpath/llmgateway/internal/strictjson"
)

// ClientsFile is the optional file of API clients: who may call the
// gateway, with which key, and what each client may do.
const ClientsFile = "clients.json"

// AllRoutes in a client's routes allows every route.
const AllRoutes = "*"

// AnonymousClient is the client name the gateway gives every caller when
// authentication is disabled. It is reserved: no configured client may use
// it.
const AnonymousClient = "anonymous"

// APIKeyPrefix starts every key made by [NewKey], so that a leaked key is
// recognisable (e.g. by secret scanners).
const APIKeyPrefix = "llmgw_"

// Clients is clients.json: the API clients of the gateway. Keys are stored
// only as their SHA-256 hashes; a plaintext key never appears in
// configuration.
type Clients struct {
	// Auth switches authentication as a whole.
	Auth AuthSettings `json:"auth"`
	// Clients are the API clients; at least one unless Auth.Disabled.
	Clients []Client `json:"clients"`
}

// AuthSettings switch authentication as a whole.
type AuthSettings struct {
	// Disabled lets every caller in without a key, as the anonymous client
	// with every permission. For local development only.
	Disabled bool `json:"disabled,omitempty"`
}

// Client is one API client and its permissions.
type Client struct {
	// Name identifies the client in logs, metrics, quotas and errors
	// (rate_limits.json's "clients" name it).
	Name string `json:"name"`
	// KeySHA256 is the SHA-256 of the client's API key, as 64 lowercase
	// hex digits (see [HashKey] and [NewKey]).
	KeySHA256 string `json:"key_sha256"`
	// Routes are the routes the client may use, by name; [AllRoutes]
	// allows every route.
	Routes []string `json:"routes"`
	// AllowModelOverride lets the client name a provider and model
	// directly, bypassing routing.
	AllowModelOverride bool `json:"allow_model_override,omitempty"`
	// AllowForcedVariant lets the client force an A/B variant of a route.
	AllowForcedVariant bool `json:"allow_forced_variant,omitempty"`
	// AllowAllUsage lets the client read every client's usage and cost
	// with the Usage RPC; other clients see only their own.
	AllowAllUsage bool `json:"allow_all_usage,omitempty"`
	// QuotaGroup, when set, makes clients with the same group share
	// api_key-scoped quotas; by default each client is its own group.
	QuotaGroup string `json:"quota_group,omitempty"`
}

// hashPattern is a SHA-256 in lowercase hex.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// emptyKeyHash is the SHA-256 of the empty string: a client with it would
// be "authenticated" by an empty key.
var emptyKeyHash = HashKey("")

// LoadClients reads and validates clients.json in fsys. A missing file is
// not an error: it returns (nil, nil), and the caller decides whether that
// means authentication is disabled. Every other problem is returned as
// [Errors] naming the file, the JSON path and the reason.
//
// Errors never quote the value of key_sha256, in case an operator pasted
// a plaintext key there by mistake.
func LoadClients(fsys fs.FS) (*Clients, error) {
	data, err := fs.ReadFile(fsys, ClientsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, Errors{{File: ClientsFile, Reason: err.Error()}}
	}
	c, err := parseClients(data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseClients strictly decodes clients.json. Each object is decoded on
// its own so that an unknown field or a wrong type is reported with the
// JSON path of the object it is in, which encoding/json does not give.
func parseClients(data []byte) (*Clients, error) {
	var top struct {
		Auth    json.RawMessage   `json:"auth"`
		Clients []json.RawMessage `json:"clients"`
	}
	// json.Unmarshal reports a truncated file as a syntax error with its
	// line, where a Decoder says only "unexpected EOF".
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, Errors{jsonError(ClientsFile, data, err)}
	}
	if err := decode(ClientsFile, data, &top); err != nil {
		if err.Path == "" && strings.HasPrefix(err.Reason, "unknown field") {
			err.Path = "$"
		}
		return nil, Errors{err}
	}
	var c Clients
	var errs Errors
	if len(top.Auth) > 0 {
		if err := decodeAt("$.auth", top.Auth, &c.Auth); err != nil {
			errs = append(errs, err)
		}
	}
	c.Clients = make([]Client, len(top.Clients))
	for i, raw := range top.Clients {
		if err := decodeAt(fmt.Sprintf("$.clients[%d]", i), raw, &c.Clients[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeAt strictly decodes one JSON object of clients.json found at path.
func decodeAt(path string, data []byte, v any) *Error {
	err := strictjson.Decode(data, v)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field != "" {
			path += "." + typ.Field
		}
		return &Error{File: ClientsFile, Path: path, Reason: fmt.Sprintf("must be %s, not %s", typ.Type, typ.Value)}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return &Error{File: ClientsFile, Path: path, Reason: msg}
}

// Validate checks clients.json on its own and returns every problem found
// as [Errors]. Route names are checked against the routes of
// ab_test_config.json by [Clients.ValidateRoutes].
func (c *Clients) Validate() error {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, &Error{File: ClientsFile, Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	if len(c.Clients) == 0 && !c.Auth.Disabled {
		add("$.clients", `at least one client is required (or set "auth": {"disabled": true})`)
	}
	names := map[string]int{}
	hashes := map[string]int{}
	for i, cl := range c.Clients {
		path := fmt.Sprintf("$.clients[%d]", i)
		switch {
		case !namePattern.MatchString(cl.Name):
			add(path+".name", "is required and must match %s", namePattern)
		case cl.Name == AnonymousClient:
			add(path+".name", "%q is reserved for callers when authentication is disabled", AnonymousClient)
		default:
			if j, ok := names[cl.Name]; ok {
				add(path+".name", "duplicate client name %q (also $.clients[%d])", cl.Name, j)
			} else {
				names[cl.Name] = i
			}
		}
		// Never quote the value: it may be a plaintext key pasted by mistake.
		switch {
		case cl.KeySHA256 == "":
			add(path+".key_sha256", "is required: the SHA-256 of the client's key (gateway -new-api-key prints one)")
		case strings.HasPrefix(cl.KeySHA256, APIKeyPrefix):
			add(path+".key_sha256", "holds a plaintext API key: store only its SHA-256 (gateway -new-api-key prints both), and replace the key, since it has been exposed")
		case !hashPattern.MatchString(cl.KeySHA256):
			add(path+".key_sha256", "must be a SHA-256 as 64 lowercase hex digits")
		case cl.KeySHA256 == emptyKeyHash:
			add(path+".key_sha256", "is the SHA-256 of an empty key")
		default:
			if j, ok := hashes[cl.KeySHA256]; ok {
				add(path+".key_sha256", "same key as $.clients[%d]: every client needs its own key", j)
			} else {
				hashes[cl.KeySHA256] = i
			}
		}
		if len(cl.Routes) == 0 && !cl.AllowModelOverride {
			add(path+".routes", "at least one route is required (%q allows every route)", AllRoutes)
		}
		seen := map[string]bool{}
		for j, r := range cl.Routes {
			rp := fmt.Sprintf("%s.routes[%d]", path, j)
			if r != AllRoutes && !namePattern.MatchString(r) {
				add(rp, "must be %q or a route name matching %s", AllRoutes, namePattern)
			}
			if seen[r] {
				add(rp, "route %q listed twice", r)
			}
			seen[r] = true
		}
		if cl.QuotaGroup != "" && !namePattern.MatchString(cl.QuotaGroup) {
			add(path+".quota_group", "must match %s", namePattern)
		}
	}
	return errs.err()
}

// ValidateRoutes checks that every route a client names, other than
// [AllRoutes], is one of routes (the routes of ab_test_config.json), and
// returns one error per unknown route; nil when all are known.
func (c *Clients) ValidateRoutes(routes map[string]bool) Errors {
	var errs Errors
	for i, cl := range c.Clients {
		for j, r := range cl.Routes {
			if r != AllRoutes && !routes[r] {
				errs = append(errs, &Error{File: ClientsFile, Path: fmt.Sprintf("$.clients[%d].routes[%d]", i, j),
					Reason: fmt.Sprintf("unknown route %q (not in %s)", r, ABTestConfigFile)})
			}
		}
	}
	return errs
}

// HashKey returns the SHA-256 of an API key as 64 lowercase hex digits:
// the form clients.json stores it in.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// base62 is the alphabet of generated keys: letters and digits only, so a
// key survives shells, URLs and a double-click to select it.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyDigits is how many base62 digits 256 bits need (62^43 > 2^256).
const keyDigits = 43

// NewKey returns a new random API key, "llmgw_" and 32 bytes from
// crypto/rand in base62 (49 characters in all), and its hash for
// clients.json. Show the key once to whoever will use it and store only
// the hash.
func NewKey() (key, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	n := new(big.Int).SetBytes(b[:])
	base, digit := big.NewInt(int64(len(base62))), new(big.Int)
	out := make([]byte, keyDigits)
	for i := keyDigits - 1; i >= 0; i-- {
		n.DivMod(n, base, digit)
		out[i] = base62[digit.Int64()]
	}
	key = APIKeyPrefix + string(out)
	return key, HashKey(key)
}
