// Package learn is vds's AutoML engine: task inference, column screening (identifiers, constants,
// target leakage), in-model preprocessing, L2-regularized linear models and histogram gradient-boosted
// trees, cross-validated search within a time budget, permutation importance, and a data-only
// protobuf model format (vds.ml.v1.ModelArtifact).
package learn

import (
	"fmt"
	"strings"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// Task is a supervised learning task.
type Task int

const (
	// TaskAuto infers the task from the target column.
	TaskAuto Task = iota
	TaskBinary
	TaskMulticlass
	TaskRegression
)

func (t Task) String() string {
	switch t {
	case TaskAuto:
		return "auto"
	case TaskBinary:
		return "binary"
	case TaskMulticlass:
		return "multiclass"
	case TaskRegression:
		return "regression"
	}
	return fmt.Sprintf("task(%d)", int(t))
}

// ParseTask reads "auto", "binary", "multiclass" or "regression" (case-insensitive).
func ParseTask(s string) (Task, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return TaskAuto, nil
	case "binary", "classification_binary":
		return TaskBinary, nil
	case "multiclass", "multi_class":
		return TaskMulticlass, nil
	case "regression":
		return TaskRegression, nil
	}
	return TaskAuto, fmt.Errorf("learn: unknown task %q (use auto, binary, multiclass or regression)", s)
}

// Proto maps the task to the protobuf enum.
func (t Task) Proto() mlv1.Task {
	switch t {
	case TaskBinary:
		return mlv1.Task_TASK_BINARY
	case TaskMulticlass:
		return mlv1.Task_TASK_MULTICLASS
	case TaskRegression:
		return mlv1.Task_TASK_REGRESSION
	}
	return mlv1.Task_TASK_UNSPECIFIED
}

func taskFromProto(t mlv1.Task) Task {
	switch t {
	case mlv1.Task_TASK_BINARY:
		return TaskBinary
	case mlv1.Task_TASK_MULTICLASS:
		return TaskMulticlass
	case mlv1.Task_TASK_REGRESSION:
		return TaskRegression
	}
	return TaskAuto
}

// TaskFromProto maps the protobuf enum to a Task (TaskAuto when unspecified).
func TaskFromProto(t mlv1.Task) Task { return taskFromProto(t) }

// Algorithm names accepted in Options.Algorithms.
const (
	AlgoLogistic = "logistic_regression" // binary and multiclass (multinomial)
	AlgoRidge    = "ridge"               // regression
	AlgoGBDT     = "gbdt"                // histogram gradient-boosted trees
	// AlgoElasticNet is logistic/multinomial or least-squares regression with an L1+L2 penalty.
	AlgoElasticNet = "elastic_net"
	// AlgoLinear selects the linear learner of the task (logistic regression or ridge).
	AlgoLinear = "linear"
)

// Algorithms lists the learner names Options.Algorithms accepts.
func Algorithms() []string {
	return []string{AlgoLinear, AlgoLogistic, AlgoRidge, AlgoElasticNet, AlgoGBDT, AlgoRandomForest, AlgoExtraTrees, AlgoNaiveBayes, AlgoKNN, AlgoEnsemble}
}

// Options configures AutoML.
type Options struct {
	// Target is the column to predict.
	Target string
	// Task forces the task; TaskAuto infers it.
	Task Task
	// Folds is the number of cross-validation folds (default 5).
	Folds int
	// Budget is the wall-time budget of the whole run (default 30s).
	Budget time.Duration
	// CPUBudget, when set, also bounds the CPU time the run may use (a money budget at a price per
	// CPU-second becomes one). CPU time is the process's, measured with getrusage.
	CPUBudget time.Duration
	Seed      int64
	// Exclude lists columns never used as features.
	Exclude []string
	// Algorithms restricts the learners (see Algorithms()); empty = all, with a greedy ensemble of
	// the best trials when it scores better. With a restriction, list AlgoEnsemble to allow one.
	Algorithms []string
	// NoEnsemble keeps the best single model even when a blend of the best trials scores better.
	NoEnsemble bool
	// TargetLabels renames target values before they become class labels, e.g. {"true": "yes",
	// "false": "no"} for a boolean column that the file spelled yes/no.
	TargetLabels map[string]string
	// GroupColumn, when set, makes the cross-validation grouped: rows sharing a value of this column
	// are always in the same fold (and the column is not a feature).
	GroupColumn string
	// TimeColumn, when set, makes the cross-validation time-ordered with an expanding window: each
	// fold trains on the rows before a cut of this datetime or numeric column and validates on the
	// next block. Exclusive with GroupColumn.
	TimeColumn string
	// NoWarmStart skips the meta-learning warm start (the configurations that did best on the most
	// similar datasets of the built-in knowledge base).
	NoWarmStart bool
	// kbExclude names knowledge-base datasets the warm start must not use (benchmarks on them).
	kbExclude []string
	// wantMeta computes the meta-features even without a warm start (building the knowledge base).
	wantMeta bool
	// maxTrials stops the search after this many finished trials (benchmarks that compare plans
	// trial by trial, independent of the machine's load).
	maxTrials int
	// Progress, when set, is called as trials finish with the fraction of the budget used.
	Progress func(fraction float64, message string)
	// Distributed, when set, hands the search's trials to the caller to run elsewhere (trial.go).
	Distributed *Distributed
}

// Entry is one trial on the leaderboard.
type Entry struct {
	Algorithm  string
	Config     string
	Metric     string
	CVScore    float64
	CVStd      float64
	FoldScores []float64
	FitSeconds float64
	// Metrics holds secondary cross-validated metrics (accuracy, log_loss, mae, r2, ...).
	Metrics map[string]float64
	// Elapsed is when the trial finished, in seconds since the run started.
	Elapsed float64
	// Source names the knowledge-base dataset of a warm-start trial ("" for the planned ones).
	Source string

	tr *trial
}

// Importance is the permutation importance of one original column: the mean drop of the model's
// metric on held-out folds when the column is shuffled (positive = the model relies on it).
type Importance struct {
	Feature    string
	Importance float64
	Std        float64
}

// Dropped is a column that was not used as a feature, and why.
type Dropped struct {
	Column, Reason string
}

// Result is the outcome of AutoML.
type Result struct {
	Task          Task
	Target        string
	Classes       []string
	PositiveClass string
	// Metric is "roc_auc" (binary), "log_loss" (multiclass) or "rmse" (regression).
	Metric string
	// Leaderboard lists all completed trials, best first.
	Leaderboard []Entry
	// Best is the best trial refit on all usable rows.
	Best        *Model
	Importances []Importance
	Warnings    []string
	Dropped     []Dropped
	// Rows is the number of rows used (non-missing target); Features the columns used.
	Rows     int
	Features []string
	Folds    int
	// CVScheme is the cross-validation used: stratified_kfold, kfold, group_kfold or
	// time_expanding_window.
	CVScheme string
	// WarmStart lists the knowledge-base datasets whose configurations were tried early.
	WarmStart []string
	// MetaFeatures describes the dataset (MetaFeatureNames) when the warm start computed them.
	MetaFeatures []float64
	// Spend is what the run used.
	Spend Spend
}

// Spend is the wall and CPU time a run used and the number of trials it finished.
type Spend struct {
	Wall, CPU time.Duration
	Trials    int
}

// HigherIsBetter reports whether larger values of the metric are better.
func HigherIsBetter(metric string) bool {
	switch metric {
	case "roc_auc", "accuracy", "r2":
		return true
	}
	return false
}
