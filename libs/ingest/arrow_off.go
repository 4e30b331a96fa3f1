//go:build !duckdb_arrow

package ingest

import "fmt"

func (j *job) registerArrow(string) (func(), error) {
	return nil, fmt.Errorf("%w: Arrow IPC input needs a build with the duckdb_arrow tag", ErrUnsupported)
}
