package learn

import (
	"context"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// linearParams configures the L2-regularized linear learners. The objective is the mean loss plus
// 0.5*lambda*||w||^2 with lambda = 1/(C*n) (scikit-learn's C convention); the intercept is not penalized.
//
// With L1Ratio > 0 the penalty is the elastic net lambda*(L1Ratio*||w||_1 + 0.5*(1-L1Ratio)*||w||^2),
// solved by FISTA: scikit-learn's LogisticRegression(penalty="elasticnet", C, l1_ratio) for
// classification and ElasticNet(alpha=lambda, l1_ratio) for regression.
type linearParams struct {
	C       float64
	MaxIter int
	L1Ratio float64
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// fitLinear trains logistic (binary), multinomial (multiclass) or ridge (regression) on standardized X.
func fitLinear(ctx context.Context, task Task, x *dense, y []float64, yc []int, k int, prm linearParams) (*mlv1.LinearModel, error) {
	n, p := x.n, x.p
	lam := 1 / (prm.C * float64(n))
	if task == TaskRegression && prm.L1Ratio <= 0 {
		return fitRidge(x, y, lam)
	}
	l1 := lam * prm.L1Ratio
	lam *= 1 - prm.L1Ratio
	outs := 1
	if task == TaskMulticlass {
		outs = k
	}
	np := outs * (p + 1) // per output: p weights then intercept
	z := make([]float64, n*outs)
	eval := func(w, grad []float64) float64 {
		for i := range z {
			z[i] = 0
		}
		for o := 0; o < outs; o++ {
			zo := z[o*n : (o+1)*n]
			b := w[o*(p+1)+p]
			for i := range zo {
				zo[i] = b
			}
			for j, col := range x.cols {
				wj := w[o*(p+1)+j]
				if wj == 0 {
					continue
				}
				for i, v := range col {
					zo[i] += wj * v
				}
			}
		}
		var loss float64
		// residuals into z
		if task == TaskRegression {
			for i := range z {
				r := z[i] - y[i]
				loss += 0.5 * r * r
				z[i] = r
			}
		} else if outs == 1 {
			for i := range z {
				zi := z[i]
				// log(1+exp(z)) - y*z
				var l float64
				if zi > 0 {
					l = zi + math.Log1p(math.Exp(-zi))
				} else {
					l = math.Log1p(math.Exp(zi))
				}
				loss += l - y[i]*zi
				z[i] = sigmoid(zi) - y[i]
			}
		} else {
			for i := 0; i < n; i++ {
				mx := math.Inf(-1)
				for o := 0; o < outs; o++ {
					mx = math.Max(mx, z[o*n+i])
				}
				var s float64
				for o := 0; o < outs; o++ {
					s += math.Exp(z[o*n+i] - mx)
				}
				lse := mx + math.Log(s)
				loss += lse - z[yc[i]*n+i]
				for o := 0; o < outs; o++ {
					pr := math.Exp(z[o*n+i] - lse)
					if o == yc[i] {
						pr -= 1
					}
					z[o*n+i] = pr
				}
			}
		}
		inv := 1 / float64(n)
		loss *= inv
		for o := 0; o < outs; o++ {
			for j := 0; j < p; j++ {
				wj := w[o*(p+1)+j]
				loss += 0.5 * lam * wj * wj
			}
		}
		if grad != nil {
			for o := 0; o < outs; o++ {
				ro := z[o*n : (o+1)*n]
				var gb float64
				for _, r := range ro {
					gb += r
				}
				grad[o*(p+1)+p] = gb * inv
				for j, col := range x.cols {
					var g float64
					for i, v := range col {
						g += ro[i] * v
					}
					grad[o*(p+1)+j] = g*inv + lam*w[o*(p+1)+j]
				}
			}
		}
		return loss
	}
	w0 := make([]float64, np)
	// start intercepts at the log prior (the mean for regression)
	if task == TaskRegression {
		for _, v := range y {
			w0[p] += v / float64(n)
		}
	} else if outs == 1 {
		var m float64
		for _, v := range y {
			m += v
		}
		m = (m + 0.5) / (float64(n) + 1)
		w0[p] = math.Log(m / (1 - m))
	} else {
		cnt := make([]float64, outs)
		for _, c := range yc {
			cnt[c]++
		}
		for o := range cnt {
			w0[o*(p+1)+p] = math.Log((cnt[o] + 0.5) / (float64(n) + 0.5*float64(outs)))
		}
	}
	maxIter := prm.MaxIter
	if maxIter <= 0 {
		maxIter = 300
	}
	if l1 > 0 || task == TaskRegression {
		free := make([]bool, np)
		for o := 0; o < outs; o++ {
			free[o*(p+1)+p] = true
		}
		w, err := fista(ctx, w0, free, l1, maxIter*10, eval)
		if err != nil {
			return nil, err
		}
		return linearFromW(w, outs, p), nil
	}
	problem := optimize.Problem{
		Func: func(w []float64) float64 { return eval(w, nil) },
		Grad: func(g, w []float64) { eval(w, g) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{MajorIterations: maxIter, GradientThreshold: 1e-6}
	res, err := optimize.Minimize(problem, w0, settings, &optimize.LBFGS{})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if res == nil {
		return nil, err
	}
	return linearFromW(res.X, outs, p), nil
}

// linearFromW unpacks the solver's per-output (weights, intercept) vector.
func linearFromW(w []float64, outs, p int) *mlv1.LinearModel {
	lm := &mlv1.LinearModel{Outputs: int32(outs), Coefficients: make([]float64, outs*p), Intercepts: make([]float64, outs)}
	for o := 0; o < outs; o++ {
		copy(lm.Coefficients[o*p:(o+1)*p], w[o*(p+1):o*(p+1)+p])
		lm.Intercepts[o] = w[o*(p+1)+p]
	}
	return lm
}

// fitRidge solves (X'X + lambda*n*I) w = X'(y - mean y) on centered features.
func fitRidge(x *dense, y []float64, lam float64) (*mlv1.LinearModel, error) {
	n, p := x.n, x.p
	var ym float64
	for _, v := range y {
		ym += v
	}
	ym /= float64(n)
	xm := make([]float64, p)
	for j, col := range x.cols {
		for _, v := range col {
			xm[j] += v
		}
		xm[j] /= float64(n)
	}
	a := mat.NewSymDense(p, nil)
	b := mat.NewVecDense(p, nil)
	for j := 0; j < p; j++ {
		cj := x.cols[j]
		for k := j; k < p; k++ {
			ck := x.cols[k]
			var s float64
			for i := range cj {
				s += (cj[i] - xm[j]) * (ck[i] - xm[k])
			}
			a.SetSym(j, k, s)
		}
		var s float64
		for i := range cj {
			s += (cj[i] - xm[j]) * (y[i] - ym)
		}
		b.SetVec(j, s)
	}
	reg := lam * float64(n)
	if reg < 1e-8 {
		reg = 1e-8
	}
	w := mat.NewVecDense(p, nil)
	for try := 0; ; try++ {
		for j := 0; j < p; j++ {
			a.SetSym(j, j, a.At(j, j)+reg)
		}
		var ch mat.Cholesky
		if ch.Factorize(a) {
			if err := ch.SolveVecTo(w, b); err == nil {
				break
			}
		}
		if try > 5 {
			break
		}
		reg *= 10
	}
	lm := &mlv1.LinearModel{Outputs: 1, Coefficients: make([]float64, p), Intercepts: []float64{ym}}
	for j := 0; j < p; j++ {
		lm.Coefficients[j] = w.AtVec(j)
		lm.Intercepts[0] -= w.AtVec(j) * xm[j]
	}
	return lm, nil
}

// linearScores returns outputs x n raw scores.
func linearScores(lm *mlv1.LinearModel, x *dense) [][]float64 {
	outs := int(lm.Outputs)
	p := x.p
	res := make([][]float64, outs)
	for o := 0; o < outs; o++ {
		z := make([]float64, x.n)
		for i := range z {
			z[i] = lm.Intercepts[o]
		}
		for j := 0; j < p && o*p+j < len(lm.Coefficients); j++ {
			w := lm.Coefficients[o*p+j]
			if w == 0 {
				continue
			}
			for i, v := range x.cols[j] {
				z[i] += w * v
			}
		}
		res[o] = z
	}
	return res
}
