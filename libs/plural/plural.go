// Package plural writes counts with their noun: "1 row", "2 rows", "0 rows".
package plural

import "strconv"

// Count is n followed by noun, with an "s" unless n is 1 (for the regular nouns of vds's
// messages: row, column, file, dataset, value).
func Count[T ~int | ~int32 | ~int64](n T, noun string) string {
	s := strconv.FormatInt(int64(n), 10) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}
