package causal

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/vdsproject/vds/libs/glm"
)

// dropCollinear removes the confounder terms of d.X that are (numerically) exact linear
// combinations of the intercept and the terms before them, as R's lm drops aliased coefficients,
// and returns one warning per dropped term naming the terms it is collinear with. Typical case:
// dummy levels that appear in several columns, such as telco's MultipleLines = "No phone service"
// (= 1 - PhoneService = "Yes") or OnlineSecurity = "No internet service" (= InternetService =
// "No"). Adjusting for the kept terms adjusts for the dropped ones too (they lie in the span of the
// kept ones), so the estimate is unchanged by the drop; without it every model was singular.
//
// Terms are added in design order (intercept first) and a term is dropped when its residual after
// projecting on the kept terms (Gram-Schmidt, orthogonalised twice) is at most 1e-9 of its own norm
// or 1e-10 of the largest column norm (which covers glm's rank test, 1e-11 of the largest pivot).
func dropCollinear(d *data) []string {
	n, p := d.X.Dims()
	if p < 2 {
		return nil
	}
	maxNorm := 0.0
	col := make([]float64, n)
	for j := 0; j < p; j++ {
		mat.Col(col, j, d.X)
		maxNorm = math.Max(maxNorm, norm(col))
	}
	var basis [][]float64
	var kept, dropped []int
	for j := 0; j < p; j++ {
		v := mat.Col(nil, j, d.X)
		n0 := norm(v)
		for pass := 0; pass < 2; pass++ {
			for _, q := range basis {
				c := floats.Dot(q, v)
				for i := range v {
					v[i] -= c * q[i]
				}
			}
		}
		r := norm(v)
		if j > 0 && (r <= 1e-9*n0 || r <= 1e-10*maxNorm) {
			dropped = append(dropped, j)
			continue
		}
		if r == 0 { // a zero intercept column: nothing sensible to do, leave it to the models
			return nil
		}
		for i := range v {
			v[i] /= r
		}
		basis = append(basis, v)
		kept = append(kept, j)
	}
	if len(dropped) == 0 {
		return nil
	}
	K := mat.NewDense(n, len(kept), nil)
	for k, j := range kept {
		K.SetCol(k, mat.Col(col, j, d.X))
	}
	var warns []string
	for _, j := range dropped {
		mat.Col(col, j, d.X)
		warns = append(warns, fmt.Sprintf("dropped confounder term %q: collinear with %s (adjusting for the kept terms adjusts for it too)",
			d.names[j], aliasOf(K, kept, d.names, col)))
	}
	// Rebuild the design from the kept columns.
	X := mat.NewDense(n, len(kept), nil)
	names := make([]string, len(kept))
	pos := map[int]int{}
	for k, j := range kept {
		X.SetCol(k, mat.Col(col, j, d.X))
		names[k] = d.names[j]
		pos[j] = k
	}
	var bal []int
	for _, j := range d.bal {
		if k, ok := pos[j]; ok {
			bal = append(bal, k)
		}
	}
	d.X, d.names, d.bal = X, names, bal
	return warns
}

// aliasOf names the kept terms with a non-negligible coefficient in the least-squares fit of x on
// them (K: the kept columns).
func aliasOf(K *mat.Dense, kept []int, names []string, x []float64) string {
	n := len(x)
	r, err := glm.OLS(K, x, glm.Options{})
	if err != nil {
		return "the other confounder terms"
	}
	xn := norm(x)
	col := make([]float64, n)
	var out []string
	for k, j := range kept {
		mat.Col(col, k, K)
		if math.Abs(r.Coef[k])*norm(col) <= 1e-6*xn {
			continue
		}
		if j == 0 {
			out = append(out, "the intercept")
		} else {
			out = append(out, fmt.Sprintf("%q", names[j]))
		}
	}
	if len(out) == 0 {
		return "the other confounder terms"
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

func norm(a []float64) float64 { return floats.Norm(a, 2) }
