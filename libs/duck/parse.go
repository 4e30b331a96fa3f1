//go:build duckdb_arrow

package duck

import (
	"context"
	"strings"
	"sync"
)

// sqlParser is one small locked in-memory database kept for ParsesAsSQL, opened on first use.
var sqlParser struct {
	sync.Mutex
	c *Conn
}

// ParsesAsSQL reports whether DuckDB's own parser accepts text as SQL: one or more statements of
// any kind (a SELECT, or a DROP, COPY, SET… that json_serialize_sql parses but will not serialize).
// Text it cannot parse (English, say) is not SQL. Nothing in text is run.
func ParsesAsSQL(ctx context.Context, text string) (bool, error) {
	sqlParser.Lock()
	defer sqlParser.Unlock()
	if sqlParser.c == nil {
		c, err := Open(ctx, Config{MemoryLimit: "64MB", Threads: 1})
		if err != nil {
			return false, err
		}
		if err := c.Lock(ctx); err != nil {
			c.Close()
			return false, err
		}
		sqlParser.c = c
	}
	p, err := serialize(ctx, sqlParser.c, text)
	if err != nil {
		return false, err
	}
	return !p.Error || strings.Contains(p.ErrorMessage, "Only SELECT"), nil
}
