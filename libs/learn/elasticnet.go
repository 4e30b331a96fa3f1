package learn

import (
	"context"
	"math"
)

// fista minimizes smooth(w) + l1 * sum_{j not free} |w_j| by accelerated proximal gradient with
// backtracking (Beck and Teboulle 2009). eval returns smooth(w) and, when grad is not nil, its
// gradient; free[j] marks unpenalized coordinates (intercepts).
func fista(ctx context.Context, w0 []float64, free []bool, l1 float64, maxIter int, eval func(w, grad []float64) float64) ([]float64, error) {
	np := len(w0)
	w := append([]float64(nil), w0...)
	v := append([]float64(nil), w0...)
	g := make([]float64, np)
	wn := make([]float64, np)
	L, tk := 1.0, 1.0
	for it := 0; it < maxIter; it++ {
		if it%20 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		fv := eval(v, g)
		for {
			for j := range v {
				z := v[j] - g[j]/L
				if !free[j] {
					switch t := l1 / L; {
					case z > t:
						z -= t
					case z < -t:
						z += t
					default:
						z = 0
					}
				}
				wn[j] = z
			}
			fn := eval(wn, nil)
			var lin, sq float64
			for j := range v {
				d := wn[j] - v[j]
				lin += g[j] * d
				sq += d * d
			}
			if fn <= fv+lin+0.5*L*sq+1e-12*math.Abs(fv) || L > 1e12 {
				break
			}
			L *= 2
		}
		tn := (1 + math.Sqrt(1+4*tk*tk)) / 2
		var delta float64
		for j := range w {
			d := wn[j] - w[j]
			delta = math.Max(delta, math.Abs(d))
			v[j] = wn[j] + (tk-1)/tn*d
			w[j] = wn[j]
		}
		tk = tn
		if delta < 1e-9 {
			break
		}
	}
	return w, nil
}
