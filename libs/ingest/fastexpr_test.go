//go:build duckdb_arrow

package ingest

import (
	"context"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/duck"
)

// TestMissTextMaybe: the sample path's cheap pre-check in front of vds_miss_text holds for every
// text placeholder, padded with any white space the expression allows (and for the user's extra
// placeholders), and rejects ordinary text, so that the conversion refuses exactly the same cells.
func TestMissTextMaybe(t *testing.T) {
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{Threads: 1, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	extra := []string{" sans objet ", "ünbekannt", "~x"}
	if err := createMacros(ctx, c, extra); err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, tok := range append(append([]string(nil), textPlaceholders...), "sans objet", "ünbekannt", "~x") {
		for _, pad := range []string{"", " ", "\t", "\n", "\r", "\f", "\u00a0", " \u00a0\t"} {
			cells = append(cells, tok+pad, pad+tok, pad+tok+pad)
		}
	}
	ordinary := []string{"alpha", "beta", "note 940", "Nord", "nul", "#1", "00123", "!", "é", "NAB", "  x", "x  ", "~", "n", "N", "#", "~y"}
	cells = append(cells, ordinary...)
	pre := missTextMaybe("x", extra)
	matched, passed := 0, 0
	for _, cell := range cells {
		var miss, maybe bool
		if err := c.SQL().QueryRowContext(ctx, "SELECT vds_miss_text(x), "+pre+" FROM (SELECT ?::VARCHAR AS x)", cell).Scan(&miss, &maybe); err != nil {
			t.Fatalf("%q: %v", cell, err)
		}
		if miss {
			matched++
			if !maybe {
				t.Errorf("%q is a text placeholder but the pre-check rejects it", cell)
			}
		}
		if maybe {
			passed++
		}
	}
	if matched < len(textPlaceholders)*20 {
		t.Errorf("only %d cells matched vds_miss_text: the test does not exercise the placeholders", matched)
	}
	// Ordinary text that starts like no placeholder (first two characters) is rejected by the
	// pre-check alone.
	for _, cell := range []string{"alpha", "beta", "00123", "!", "é", "x  ", "note 940", "Nord", "nothing"} {
		var maybe bool
		if err := c.SQL().QueryRowContext(ctx, "SELECT "+pre+" FROM (SELECT ?::VARCHAR AS x)", cell).Scan(&maybe); err != nil {
			t.Fatal(err)
		}
		if maybe {
			t.Errorf("%q passes the pre-check (%s)", cell, strings.ReplaceAll(pre, "x", "·"))
		}
	}
	t.Logf("%d cells, %d placeholders, %d pass the pre-check", len(cells), matched, passed)
}
