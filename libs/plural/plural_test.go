package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Count(1, "row"), "1 row"},
		{Count(0, "row"), "0 rows"},
		{Count(int64(2), "column"), "2 columns"},
		{Count(int32(-1), "value"), "-1 values"},
		{Count(11, "row"), "11 rows"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
