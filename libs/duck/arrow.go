//go:build duckdb_arrow

package duck

import (
	"database/sql/driver"

	"github.com/duckdb/duckdb-go/v2"
)

// Arrow returns DuckDB's Arrow interface on this connection. Not safe for concurrent use.
func (c *Conn) Arrow() (*duckdb.Arrow, error) {
	var a *duckdb.Arrow
	err := c.conn.Raw(func(dc any) error {
		var err error
		a, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
	return a, err
}
