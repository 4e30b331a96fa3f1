package server

import "testing"

// TestNamesTables: DuckDB's error for an unknown table names the tables the execution has, with the
// dataset version behind each; DuckDB's suggestion and the position in the query stay; other errors
// are left alone.
func TestNamesTables(t *testing.T) {
	duckMsg := "Catalog Error: Table with name Foo Bar does not exist!\nDid you mean \"tips\"?\n\nLINE 1: SELECT * FROM \"Foo Bar\"\n                      ^^^^^^^^^"
	one := []input{{alias: "tips", id: "ds_abc.v1"}}
	two := []input{{alias: "tips", id: "ds_abc.v1"}, {alias: "flowers", id: "ds_def.v3"}}
	for _, tc := range []struct {
		msg  string
		ins  []input
		want string
	}{
		{duckMsg, one, "Catalog Error: table \"Foo Bar\" does not exist; this execution has the table: tips (ds_abc.v1)\nDid you mean \"tips\"?\n\nLINE 1: SELECT * FROM \"Foo Bar\"\n                      ^^^^^^^^^"},
		{duckMsg, two, "Catalog Error: table \"Foo Bar\" does not exist; this execution has the tables: tips (ds_abc.v1), flowers (ds_def.v3)\nDid you mean \"tips\"?\n\nLINE 1: SELECT * FROM \"Foo Bar\"\n                      ^^^^^^^^^"},
		{"Catalog Error: Table Function with name nope does not exist!", one, "Catalog Error: Table Function with name nope does not exist!"},
		{"Binder Error: Referenced column \"x\" not found in FROM clause!", one, "Binder Error: Referenced column \"x\" not found in FROM clause!"},
	} {
		if got := namesTables(tc.msg, tc.ins); got != tc.want {
			t.Errorf("namesTables(%q, %d inputs)\n got %q\nwant %q", tc.msg, len(tc.ins), got, tc.want)
		}
	}
}
