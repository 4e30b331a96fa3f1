// Package tracetest holds the end-to-end tracing test: one analysis on the embedded platform must be
// one connected trace across the gateway, the services and the jobs that cross NATS.
package tracetest
