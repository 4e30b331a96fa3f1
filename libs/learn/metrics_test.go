package learn

import (
	"math"
	"testing"
)

// Reference values from scikit-learn 1.2.1 (numpy 1.24.2), produced by /usr/bin/python3 running:
//
//	import numpy as np
//	from sklearn.metrics import roc_auc_score, log_loss, mean_squared_error, mean_absolute_error, r2_score, accuracy_score
//	y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
//	s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.55, 0.55]
//	print("auc %.15f" % roc_auc_score(y, s))
//	print("binlogloss %.15f" % log_loss(y, s))
//	yc = [0, 2, 1, 2, 0]
//	P = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]]
//	print("logloss %.15f" % log_loss(yc, P, labels=[0, 1, 2]))
//	yt = [3.0, -0.5, 2.0, 7.0, 4.2]
//	yp = [2.5, 0.0, 2.0, 8.0, 3.9]
//	print("rmse %.15f" % np.sqrt(mean_squared_error(yt, yp)))
//	print("mae %.15f" % mean_absolute_error(yt, yp))
//	print("r2 %.15f" % r2_score(yt, yp))
//	print("acc %.15f" % accuracy_score([0, 1, 2, 2, 1], [0, 2, 2, 2, 1]))
func TestMetricsAgainstSklearn(t *testing.T) {
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.15f, want %.15f", name, got, want)
		}
	}
	y := []float64{0, 0, 1, 1, 0, 1, 0, 1, 1, 0}
	s := []float64{0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.55, 0.55} // ties at 0.4 and 0.55
	near("auc", ROCAUC(y, s), 0.780000000000000)
	near("binary log loss", BinaryLogLoss(y, s), 0.504111693482228)
	yc := []int{0, 2, 1, 2, 0}
	p := [][]float64{{0.7, 0.2, 0.1}, {0.1, 0.3, 0.6}, {0.2, 0.5, 0.3}, {0.3, 0.3, 0.4}, {0.5, 0.25, 0.25}}
	near("log loss", LogLoss(yc, p), 0.634017132139754)
	yt := []float64{3.0, -0.5, 2.0, 7.0, 4.2}
	yp := []float64{2.5, 0.0, 2.0, 8.0, 3.9}
	near("rmse", RMSE(yt, yp), 0.563914887194867)
	near("mae", MAE(yt, yp), 0.460000000000000)
	near("r2", R2(yt, yp), 0.948025627615063)
	near("accuracy", Accuracy([]int{0, 1, 2, 2, 1}, []int{0, 2, 2, 2, 1}), 0.8)
}

func TestAUCHandComputed(t *testing.T) {
	// all scores tied: AUC is exactly 1/2
	if got := ROCAUC([]float64{0, 1, 0, 1}, []float64{3, 3, 3, 3}); got != 0.5 {
		t.Errorf("tied AUC = %v", got)
	}
	// perfect and inverted ranking
	if got := ROCAUC([]float64{0, 0, 1, 1}, []float64{1, 2, 3, 4}); got != 1 {
		t.Errorf("perfect AUC = %v", got)
	}
	if got := ROCAUC([]float64{1, 1, 0, 0}, []float64{1, 2, 3, 4}); got != 0 {
		t.Errorf("inverted AUC = %v", got)
	}
	// pairs (pos,neg): (2,1)=1 (2,2)=0.5 -> 0.75
	if got := ROCAUC([]float64{0, 1, 0}, []float64{1, 2, 2}); got != 0.75 {
		t.Errorf("AUC = %v, want 0.75", got)
	}
	if !math.IsNaN(ROCAUC([]float64{1, 1}, []float64{1, 2})) {
		t.Errorf("single-class AUC should be NaN")
	}
}
