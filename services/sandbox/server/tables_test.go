package server

import "testing"

// TestNamesTables: DuckDB's error for an unknown table names the tables the execution has, with the
// dataset version behind each; DuckDB's suggestion stays when it names an input and is dropped when
// it names another table (pg_enum); the position in the query stays; other errors are left alone.
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
		// DuckDB suggests its own catalog tables: a suggestion that is not an input is dropped.
		{"Catalog Error: Table with name pg_enm does not exist!\nDid you mean \"pg_enum\"?\n\nLINE 1: select * from pg_enm\n                      ^^^^^^", one,
			"Catalog Error: table \"pg_enm\" does not exist; this execution has the table: tips (ds_abc.v1)\n\nLINE 1: select * from pg_enm\n                      ^^^^^^"},
		{"Catalog Error: Table with name zzz does not exist!\nDid you mean \"pg_sequence\"?", two,
			"Catalog Error: table \"zzz\" does not exist; this execution has the tables: tips (ds_abc.v1), flowers (ds_def.v3)"},
		{"Catalog Error: Table with name flower does not exist!\nDid you mean \"main.flowers\"?", two,
			"Catalog Error: table \"flower\" does not exist; this execution has the tables: tips (ds_abc.v1), flowers (ds_def.v3)\nDid you mean \"main.flowers\"?"},
		{"Catalog Error: Table Function with name nope does not exist!", one, "Catalog Error: Table Function with name nope does not exist!"},
		{"Binder Error: Referenced column \"x\" not found in FROM clause!", one, "Binder Error: Referenced column \"x\" not found in FROM clause!"},
	} {
		if got := namesTables(tc.msg, tc.ins); got != tc.want {
			t.Errorf("namesTables(%q, %d inputs)\n got %q\nwant %q", tc.msg, len(tc.ins), got, tc.want)
		}
	}
}
