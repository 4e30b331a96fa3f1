package server

import (
	_ "embed"
	"encoding/json"
	"sync"

	"github.com/vdsproject/vds/gen"
)

// openapiExtra describes the routes the gateway serves itself (multipart upload, Server-Sent Event
// streams, the cookie session), which the generated document of the gRPC routes cannot contain.
//
//go:embed openapi_extra.json
var openapiExtra []byte

var openapiDoc = sync.OnceValue(func() []byte {
	var doc map[string]any
	var extra map[string]any
	if json.Unmarshal(gen.OpenAPI, &doc) != nil || json.Unmarshal(openapiExtra, &extra) != nil {
		return gen.OpenAPI
	}
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		doc["paths"] = paths
	}
	for p, ops := range extra {
		paths[p] = ops
	}
	doc["tags"] = append(asSlice(doc["tags"]), map[string]any{"name": "Gateway",
		"description": "routes served by the gateway itself: multipart upload, event streams (text/event-stream), the cookie session"})
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return gen.OpenAPI
	}
	return b
})

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
