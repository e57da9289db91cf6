// Package schema ships JSON Schemas (draft 2020-12) of the gateway's
// configuration files, so that editors can check them as operators type:
//
//	provider_settings.json  provider_settings.schema.json
//	ab_test_config.json     ab_test_config.schema.json
//	rate_limits.json        rate_limits.schema.json
//	clients.json            clients.schema.json
//
// The Go types in package config are the source of truth; this package's
// tests keep the schemas in step with them (every JSON field and no other
// is a property), check that every configuration file in the repository
// and every complete example in README.md and docs/*.md validates, and
// that invalid documents are refused.
//
// A schema checks one file on its own. Rules across files (a variant
// naming a model that provider_settings.json does not list, a rate limit
// naming an unknown route) and rules between values (unique names,
// templates that parse) cannot be written in JSON Schema: only the gateway
// checks them, when it loads the configuration. Each schema's description
// lists them.
//
// Where the two differ on one file's evidence, the schema is the
// stricter: it requires the fields the Go types always write (a model's
// context_window and price, a variant's weight), refuses null and empty
// strings where the gateway reads them as "not set" (leave such fields
// out), and refuses kind "openai-compatible" without base_url, which the
// backend refuses only when it starts.
//
// # Editors
//
// Do not add a "$schema" key to a configuration file: the gateway decodes
// strictly and refuses unknown fields. Map the files to their schemas in
// the editor instead. In VS Code, add to the workspace's
// .vscode/settings.json (paths are relative to the workspace root):
//
//	"json.schemas": [
//	  { "fileMatch": ["**/provider_settings.json"], "url": "./config/schema/provider_settings.schema.json" },
//	  { "fileMatch": ["**/ab_test_config.json"], "url": "./config/schema/ab_test_config.schema.json" },
//	  { "fileMatch": ["**/rate_limits.json"], "url": "./config/schema/rate_limits.schema.json" },
//	  { "fileMatch": ["**/clients.json"], "url": "./config/schema/clients.schema.json" }
//	]
//
// Outside this repository, copy the four files next to the configuration
// and point "url" at them (a path relative to the workspace, or a file://
// URL). JetBrains IDEs take the same mapping under Settings > Languages &
// Frameworks > Schemas and DTDs > JSON Schema Mappings. The patterns are
// written to mean the same in Go's RE2 and in ECMAScript, which editors
// use.
package schema

import (
	"embed"
	"io/fs"
)

// IDBase is the URL the schemas' $id values start with, followed by the
// schema file name.
const IDBase = "https://careerpath.example/llmgateway/schema/"

//go:embed *.schema.json
var files embed.FS

// FS returns the schema files, named as in [Files].
func FS() fs.FS { return files }

// Files maps each configuration file name to its schema's file name.
func Files() map[string]string {
	return map[string]string{
		"provider_settings.json": "provider_settings.schema.json",
		"ab_test_config.json":    "ab_test_config.schema.json",
		"rate_limits.json":       "rate_limits.schema.json",
		"clients.json":           "clients.schema.json",
	}
}

// For returns the schema of the configuration file named name (e.g.
// "clients.json"), as JSON, or false when name is not a configuration
// file with a schema.
func For(name string) ([]byte, bool) {
	s, ok := Files()[name]
	if !ok {
		return nil, false
	}
	b, err := fs.ReadFile(files, s)
	if err != nil {
		return nil, false
	}
	return b, true
}
