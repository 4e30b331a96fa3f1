// Package vegatest validates chart specs against the Vega-Lite JSON schema in tests.
//
// The schema ships in the npm package vega-lite (build/vega-lite-schema.json). It is found through
// the environment variable VDS_VEGALITE_SCHEMA (a file path) or in a node_modules/vega-lite folder
// (also web/node_modules/vega-lite) in the working directory or any parent. Without it the
// validating tests are skipped, saying so.
package vegatest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	once   sync.Once
	schema *jsonschema.Schema
	where  string
	err    error
)

// SchemaPath returns the path of vega-lite-schema.json, or "" when none is found.
func SchemaPath() string {
	if p := os.Getenv("VDS_VEGALITE_SCHEMA"); p != "" {
		return p
	}
	dir, e := os.Getwd()
	if e != nil {
		return ""
	}
	for {
		for _, sub := range []string{"node_modules", filepath.Join("web", "node_modules")} {
			p := filepath.Join(dir, sub, "vega-lite", "build", "vega-lite-schema.json")
			if _, e := os.Stat(p); e == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func load() {
	where = SchemaPath()
	if where == "" {
		return
	}
	b, e := os.ReadFile(where)
	if e != nil {
		err = e
		return
	}
	doc, e := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if e != nil {
		err = e
		return
	}
	c := jsonschema.NewCompiler()
	if e := c.AddResource("vega-lite-schema.json", doc); e != nil {
		err = e
		return
	}
	schema, err = c.Compile("vega-lite-schema.json")
}

// Validator returns a function that validates one spec (any value that marshals to JSON), or skips
// t when the schema is not installed.
func Validator(t testing.TB) func(spec any) error {
	t.Helper()
	once.Do(load)
	if err != nil {
		t.Fatalf("vega-lite schema %s: %v", where, err)
	}
	if schema == nil {
		t.Skip("vega-lite schema not found: install the npm package vega-lite (node_modules/vega-lite) or set VDS_VEGALITE_SCHEMA")
	}
	return func(spec any) error {
		b, e := json.Marshal(spec)
		if e != nil {
			return e
		}
		v, e := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if e != nil {
			return e
		}
		return schema.Validate(v)
	}
}

// Optional is Validator for tests that do more than validate charts: without the schema it logs
// that chart validation is skipped and returns nil instead of skipping t.
func Optional(t testing.TB) func(spec any) error {
	t.Helper()
	once.Do(load)
	if err != nil {
		t.Fatalf("vega-lite schema %s: %v", where, err)
	}
	if schema == nil {
		t.Log("vega-lite schema not found: chart specs are not validated (install the npm package vega-lite or set VDS_VEGALITE_SCHEMA)")
		return nil
	}
	return Validator(t)
}
