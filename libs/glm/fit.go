package glm

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// CovType selects the coefficient covariance estimator.
type CovType int

const (
	// CovClassical is the model-based covariance: sigma^2 (X'WX)^-1 for least squares, the inverse
	// information for logistic regression.
	CovClassical CovType = iota
	// CovHC0 is White's heteroskedasticity-consistent sandwich without small-sample correction (what
	// GEE's robust covariance gives for independent observations).
	CovHC0
	// CovHC1 is HC0 scaled by n/(n-p).
	CovHC1
)

func (c CovType) String() string {
	switch c {
	case CovClassical:
		return "classical"
	case CovHC0:
		return "HC0"
	case CovHC1:
		return "HC1"
	}
	return fmt.Sprintf("cov(%d)", int(c))
}

// Options configures a fit.
type Options struct {
	// Weights are observation weights (nil means all 1). For least squares they are WLS weights
	// (inverse variances, as in statsmodels WLS); for logistic regression frequency weights.
	Weights []float64
	// Cov selects the covariance estimator.
	Cov CovType
	// Alpha is the confidence level complement (0 means 0.05, a 95% interval).
	Alpha float64
	// UseT forces Student t inference for robust covariances (by default only classical least
	// squares uses t, as in statsmodels).
	UseT bool
	// Names labels the coefficients (defaults to x0, x1, ...).
	Names []string
	// L2 is a ridge penalty 0.5*L2*sum(beta_j^2) on all coefficients but the intercept (logistic
	// regression only). A small value keeps estimates finite under separation.
	L2 float64
	// Intercept is the index of the unpenalized intercept column (default 0; -1 for none).
	Intercept *int
	// MaxIter bounds the IRLS iterations (default 100); Tol is the convergence tolerance on the
	// relative change in deviance (default 1e-12).
	MaxIter int
	Tol     float64
}

// Family says which model was fitted.
type Family string

const (
	Gaussian Family = "gaussian"
	Binomial Family = "binomial"
)

// Result holds a fitted model and its inference.
type Result struct {
	Family Family
	Names  []string
	Coef   []float64
	SE     []float64
	// Stat is the t or z statistic, P its two-sided p-value.
	Stat   []float64
	P      []float64
	CILow  []float64
	CIHigh []float64
	// Cov is the coefficient covariance matrix used for SE.
	Cov     *mat.SymDense
	CovType CovType
	// Dist is "t" or "normal": the reference distribution for Stat, P and the intervals.
	Dist    string
	N       int
	DFResid int
	// Fitted is X*beta for least squares and the fitted probabilities for logistic regression.
	Fitted []float64
	// Resid is y - Fitted.
	Resid []float64
	// Sigma2 is the residual variance (weighted) for least squares.
	Sigma2   float64
	RSquared float64
	// LogLik is the log-likelihood (logistic regression, unpenalized, weighted).
	LogLik     float64
	Iterations int
	Converged  bool
	// Separated is set when an unpenalized fit drives fitted probabilities to 0 or 1 (perfect or
	// quasi separation): the maximum-likelihood estimate does not exist; refit with a small L2.
	Separated bool
}

// Index returns the position of the named coefficient, or -1.
func (r *Result) Index(name string) int {
	for i, n := range r.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// Linear returns X*beta for new rows.
func (r *Result) Linear(X mat.Matrix) []float64 {
	n, p := X.Dims()
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < p; j++ {
			s += X.At(i, j) * r.Coef[j]
		}
		out[i] = s
	}
	return out
}

// Predict returns predictions on the response scale (probabilities for logistic regression).
func (r *Result) Predict(X mat.Matrix) []float64 {
	out := r.Linear(X)
	if r.Family == Binomial {
		for i, v := range out {
			out[i] = Expit(v)
		}
	}
	return out
}

// Expit is the logistic function.
func Expit(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

// ErrSingular is returned when the design is rank deficient.
var ErrSingular = errors.New("glm: design matrix is rank deficient (collinear or constant columns)")

func check(X mat.Matrix, y []float64, o *Options) (int, int, error) {
	n, p := X.Dims()
	if len(y) != n {
		return 0, 0, fmt.Errorf("glm: %d responses for %d rows", len(y), n)
	}
	if o.Weights != nil && len(o.Weights) != n {
		return 0, 0, fmt.Errorf("glm: %d weights for %d rows", len(o.Weights), n)
	}
	for i, w := range o.Weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return 0, 0, fmt.Errorf("glm: invalid weight %v at row %d", w, i)
		}
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, fmt.Errorf("glm: invalid response %v at row %d", v, i)
		}
	}
	if n <= p {
		return 0, 0, fmt.Errorf("glm: %d rows are too few for %d coefficients", n, p)
	}
	if o.Names != nil && len(o.Names) != p {
		return 0, 0, fmt.Errorf("glm: %d names for %d coefficients", len(o.Names), p)
	}
	return n, p, nil
}

func weight(o *Options, i int) float64 {
	if o.Weights == nil {
		return 1
	}
	return o.Weights[i]
}

// qrSolve solves min ||A b - z|| by QR and returns b and the inverse of A'A.
func qrSolve(A *mat.Dense, z []float64) ([]float64, *mat.SymDense, error) {
	n, p := A.Dims()
	var qr mat.QR
	qr.Factorize(A)
	var Rd mat.Dense
	qr.RTo(&Rd)
	R := mat.NewTriDense(p, mat.Upper, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			R.SetTri(i, j, Rd.At(i, j))
		}
	}
	// Rank check on the diagonal of R relative to the largest.
	maxd := 0.0
	for j := 0; j < p; j++ {
		maxd = math.Max(maxd, math.Abs(R.At(j, j)))
	}
	for j := 0; j < p; j++ {
		if math.Abs(R.At(j, j)) <= 1e-11*maxd || maxd == 0 {
			return nil, nil, ErrSingular
		}
	}
	var b mat.Dense
	if err := qr.SolveTo(&b, false, mat.NewDense(n, 1, z)); err != nil {
		return nil, nil, ErrSingular
	}
	var Ri mat.TriDense
	if err := Ri.InverseTri(R); err != nil {
		return nil, nil, ErrSingular
	}
	inv := mat.NewSymDense(p, nil)
	// (A'A)^-1 = R^-1 R^-T
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			s := 0.0
			for k := j; k < p; k++ {
				s += Ri.At(i, k) * Ri.At(j, k)
			}
			inv.SetSym(i, j, s)
		}
	}
	return mat.Col(nil, 0, &b), inv, nil
}

// sandwich returns bread * (sum_i s_i^2 x_i x_i') * bread.
func sandwich(X mat.Matrix, s []float64, bread *mat.SymDense, scale float64) *mat.SymDense {
	n, p := X.Dims()
	meat := mat.NewSymDense(p, nil)
	row := make([]float64, p)
	for i := 0; i < n; i++ {
		if s[i] == 0 {
			continue
		}
		for j := 0; j < p; j++ {
			row[j] = X.At(i, j) * s[i]
		}
		meat.SymRankOne(meat, 1, mat.NewVecDense(p, row))
	}
	var tmp mat.Dense
	tmp.Mul(bread, meat)
	var full mat.Dense
	full.Mul(&tmp, bread)
	out := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			out.SetSym(i, j, scale*0.5*(full.At(i, j)+full.At(j, i)))
		}
	}
	return out
}

func (r *Result) infer(o *Options, useT bool) {
	p := len(r.Coef)
	if o.Names != nil {
		r.Names = append([]string{}, o.Names...)
	} else {
		r.Names = make([]string, p)
		for j := range r.Names {
			r.Names[j] = fmt.Sprintf("x%d", j)
		}
	}
	alpha := o.Alpha
	if alpha <= 0 || alpha >= 1 {
		alpha = 0.05
	}
	var q float64
	var surv func(float64) float64
	if useT {
		r.Dist = "t"
		d := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(r.DFResid)}
		q = d.Quantile(1 - alpha/2)
		surv = d.Survival
	} else {
		r.Dist = "normal"
		q = distuv.UnitNormal.Quantile(1 - alpha/2)
		surv = distuv.UnitNormal.Survival
	}
	r.SE = make([]float64, p)
	r.Stat = make([]float64, p)
	r.P = make([]float64, p)
	r.CILow = make([]float64, p)
	r.CIHigh = make([]float64, p)
	for j := 0; j < p; j++ {
		se := math.Sqrt(math.Max(r.Cov.At(j, j), 0))
		r.SE[j] = se
		r.Stat[j] = r.Coef[j] / se
		r.P[j] = 2 * surv(math.Abs(r.Stat[j]))
		r.CILow[j] = r.Coef[j] - q*se
		r.CIHigh[j] = r.Coef[j] + q*se
	}
}

// OLS fits least squares (weighted when o.Weights is set) of y on X. X should contain an intercept
// column when one is wanted.
func OLS(X mat.Matrix, y []float64, o Options) (*Result, error) {
	n, p, err := check(X, y, &o)
	if err != nil {
		return nil, err
	}
	A := mat.NewDense(n, p, nil)
	z := make([]float64, n)
	for i := 0; i < n; i++ {
		sw := math.Sqrt(weight(&o, i))
		for j := 0; j < p; j++ {
			A.Set(i, j, X.At(i, j)*sw)
		}
		z[i] = y[i] * sw
	}
	beta, inv, err := qrSolve(A, z)
	if err != nil {
		return nil, err
	}
	r := &Result{Family: Gaussian, Coef: beta, N: n, DFResid: n - p, CovType: o.Cov, Converged: true, Iterations: 1}
	r.Fitted = r.Linear(X)
	r.Resid = make([]float64, n)
	ssr, sw, swy := 0.0, 0.0, 0.0
	for i := 0; i < n; i++ {
		r.Resid[i] = y[i] - r.Fitted[i]
		w := weight(&o, i)
		ssr += w * r.Resid[i] * r.Resid[i]
		sw += w
		swy += w * y[i]
	}
	r.Sigma2 = ssr / float64(n-p)
	ybar := swy / sw
	sst := 0.0
	for i := 0; i < n; i++ {
		d := y[i] - ybar
		sst += weight(&o, i) * d * d
	}
	if sst > 0 {
		r.RSquared = 1 - ssr/sst
	}
	switch o.Cov {
	case CovClassical:
		r.Cov = mat.NewSymDense(p, nil)
		r.Cov.ScaleSym(r.Sigma2, inv)
	case CovHC0, CovHC1:
		// Whitened scores: sqrt(w) x_i * sqrt(w) e_i = w e_i x_i.
		s := make([]float64, n)
		for i := range s {
			s[i] = weight(&o, i) * r.Resid[i]
		}
		scale := 1.0
		if o.Cov == CovHC1 {
			scale = float64(n) / float64(n-p)
		}
		r.Cov = sandwich(X, s, inv, scale)
	default:
		return nil, fmt.Errorf("glm: unknown covariance type %v", o.Cov)
	}
	r.infer(&o, o.Cov == CovClassical || o.UseT)
	return r, nil
}

// Logit fits logistic regression of a 0/1 (or proportion) response y on X by IRLS with step halving.
// With o.Weights set the weights act as frequency weights. o.L2 adds a ridge penalty. Classical
// covariance is the inverse (penalized) information; HC0/HC1 give the sandwich.
func Logit(X mat.Matrix, y []float64, o Options) (*Result, error) {
	n, p, err := check(X, y, &o)
	if err != nil {
		return nil, err
	}
	for i, v := range y {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("glm: logistic response %v at row %d is outside [0,1]", v, i)
		}
	}
	icpt := 0
	if o.Intercept != nil {
		icpt = *o.Intercept
	}
	maxIter := o.MaxIter
	if maxIter <= 0 {
		maxIter = 100
	}
	tol := o.Tol
	if tol <= 0 {
		tol = 1e-12
	}
	pen := 0
	if o.L2 > 0 {
		pen = p
		if icpt >= 0 && icpt < p {
			pen--
		}
	}
	beta := make([]float64, p)
	eta := make([]float64, n)
	mu := make([]float64, n)
	// Start from the weighted mean on the link scale, as GLM does.
	for i := 0; i < n; i++ {
		mu[i] = (y[i] + 0.5) / 2
		eta[i] = math.Log(mu[i] / (1 - mu[i]))
	}
	objective := func(b []float64) (float64, []float64) {
		e := make([]float64, n)
		ll := 0.0
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < p; j++ {
				s += X.At(i, j) * b[j]
			}
			e[i] = s
			ll += weight(&o, i) * (y[i]*s - softplus(s))
		}
		if o.L2 > 0 {
			for j := 0; j < p; j++ {
				if j != icpt {
					ll -= 0.5 * o.L2 * b[j] * b[j]
				}
			}
		}
		return ll, e
	}
	A := mat.NewDense(n+pen, p, nil)
	z := make([]float64, n+pen)
	var inv *mat.SymDense
	prev := math.Inf(-1)
	first := true
	r := &Result{Family: Binomial, N: n, DFResid: n - p, CovType: o.Cov}
	for it := 1; it <= maxIter; it++ {
		r.Iterations = it
		for i := 0; i < n; i++ {
			v := mu[i] * (1 - mu[i])
			if v < 1e-10 {
				v = 1e-10
			}
			sw := math.Sqrt(weight(&o, i) * v)
			for j := 0; j < p; j++ {
				A.Set(i, j, X.At(i, j)*sw)
			}
			z[i] = sw * (eta[i] + (y[i]-mu[i])/v)
		}
		if pen > 0 {
			k := n
			sl := math.Sqrt(o.L2)
			for j := 0; j < p; j++ {
				if j == icpt {
					continue
				}
				for jj := 0; jj < p; jj++ {
					A.Set(k, jj, 0)
				}
				A.Set(k, j, sl)
				z[k] = 0
				k++
			}
		}
		nb, ninv, err := qrSolve(A, z)
		if err != nil {
			return nil, err
		}
		ll, ne := objective(nb)
		// Step halving when the objective gets worse (never on the first step from the start values).
		if !first {
			step := 1.0
			for k := 0; k < 30 && ll < prev-1e-12*math.Abs(prev); k++ {
				step /= 2
				for j := range nb {
					nb[j] = beta[j] + step*(nb[j]-beta[j])
				}
				ll, ne = objective(nb)
			}
		}
		copy(beta, nb)
		copy(eta, ne)
		inv = ninv
		for i := 0; i < n; i++ {
			mu[i] = Expit(eta[i])
		}
		if !first && math.Abs(ll-prev) <= tol*(math.Abs(ll)+tol) {
			r.Converged = true
			prev = ll
			break
		}
		first = false
		prev = ll
	}
	// Final information at the converged estimate.
	for i := 0; i < n; i++ {
		v := mu[i] * (1 - mu[i])
		sw := math.Sqrt(weight(&o, i) * v)
		for j := 0; j < p; j++ {
			A.Set(i, j, X.At(i, j)*sw)
		}
		z[i] = 0
		if v < 1e-12 && o.L2 == 0 {
			r.Separated = true
		}
	}
	if _, finv, err := qrSolve(A, z); err == nil {
		inv = finv
	} else if !r.Separated {
		return nil, err
	}
	r.Coef = beta
	r.Fitted = mu
	r.Resid = make([]float64, n)
	ll := 0.0
	for i := 0; i < n; i++ {
		r.Resid[i] = y[i] - mu[i]
		ll += weight(&o, i) * (y[i]*eta[i] - softplus(eta[i]))
	}
	r.LogLik = ll
	switch o.Cov {
	case CovClassical:
		r.Cov = inv
	case CovHC0, CovHC1:
		s := make([]float64, n)
		for i := range s {
			s[i] = weight(&o, i) * r.Resid[i]
		}
		scale := 1.0
		if o.Cov == CovHC1 {
			scale = float64(n) / float64(n-p)
		}
		r.Cov = sandwich(X, s, inv, scale)
	default:
		return nil, fmt.Errorf("glm: unknown covariance type %v", o.Cov)
	}
	r.infer(&o, o.UseT)
	return r, nil
}

// softplus is log(1+exp(v)) computed stably.
func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}
