// Package gen holds the generated vds contracts (messages, gRPC clients and servers, REST gateway
// handlers) and the OpenAPI document. It is the Go SDK's base; see package client for a helper.
package gen
