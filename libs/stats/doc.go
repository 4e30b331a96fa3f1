// Package stats holds the statistical tests and descriptive statistics that vds's profiling and
// hypothesis engine use. Every test returns a Result with the statistic, the p-value (from the exact
// reference distribution in gonum/stat/distuv, or the stated approximation), an effect size with its
// 95% confidence interval where one is defined, and the number of observations used.
//
// Conventions (each matches scipy/statsmodels so the reference values in the tests agree):
//   - p-values are two-sided unless stated otherwise;
//   - missing values (NaN) must be removed by the caller; functions do not skip them silently,
//     except where documented (Pearson, Spearman and the pairwise helpers drop pairs with a NaN);
//   - Skewness and Kurtosis are the biased (population) moment estimators, scipy's default
//     (bias=True); Kurtosis is the excess kurtosis (Fisher's definition, normal = 0);
//   - quantiles use linear interpolation between order statistics (numpy's default, "type 7").
package stats
