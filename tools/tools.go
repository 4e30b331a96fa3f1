// Package tools pins the code generators used by `make generate`. It is never imported.
package tools
