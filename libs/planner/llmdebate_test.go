package planner

import (
	"reflect"
	"testing"
)

func TestUnbackedNumbers(t *testing.T) {
	src := []string{"Month-to-month churn rate 0.4271 vs 0.02832 for Two year (chi-square p=1.2e-10, Cramér's V 0.41, 95% CI 0.39 to 0.43, n=7043).",
		"Without the extreme 1% of tenure the difference is -0.3012."}
	for _, c := range []struct {
		prose string
		bad   []string
	}{
		{"Month-to-month contracts churn at 42.7%, two-year ones at 2.8%.", nil},
		{"The rate is 0.427 against 0.0283; V = 0.41 (95% CI 0.39-0.43) over 7,043 customers.", nil},
		{"Two of the three checks agree; the p-value is 1.2e-10.", nil},
		{"The p-value is 1.2, tiny.", []string{"1.2"}},
		{"Dropping the top 1% leaves a difference of -0.30.", nil},
		{"Dropping the top 1% leaves a difference of 0.30.", []string{"0.30"}},
		{"The churn rate is 0.53, and 12,000 customers were affected.", []string{"0.53", "12,000"}},
		{"Month-to-month churn is 44%.", []string{"44%"}},
		{"Column re78 and mdl_0123 are names, not numbers; 11 is a number.", []string{"11"}},
	} {
		if got := unbackedNumbers(c.prose, src); !reflect.DeepEqual(got, c.bad) {
			t.Errorf("%q: unbacked %q, want %q", c.prose, got, c.bad)
		}
	}
}
