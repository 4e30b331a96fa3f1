package server

import (
	"testing"

	sandboxv1 "github.com/vdsproject/vds/gen/vds/sandbox/v1"
	"github.com/vdsproject/vds/libs/pysandbox"
)

// TestOutcomeOfPy: each Python sandbox outcome has its own wire outcome where the proto has one; a
// fork bomb stopped at the process limit is PROCESS_LIMIT (it was reported as MEMORY_LIMIT).
func TestOutcomeOfPy(t *testing.T) {
	for o, want := range map[pysandbox.Outcome]sandboxv1.Outcome{
		pysandbox.OK:          sandboxv1.Outcome_OUTCOME_OK,
		pysandbox.Timeout:     sandboxv1.Outcome_OUTCOME_TIMEOUT,
		pysandbox.CPULimit:    sandboxv1.Outcome_OUTCOME_TIMEOUT,
		pysandbox.MemoryLimit: sandboxv1.Outcome_OUTCOME_MEMORY_LIMIT,
		pysandbox.ProcLimit:   sandboxv1.Outcome_OUTCOME_PROCESS_LIMIT,
		pysandbox.OutputLimit: sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT,
		pysandbox.FileLimit:   sandboxv1.Outcome_OUTCOME_OUTPUT_LIMIT,
		pysandbox.Error:       sandboxv1.Outcome_OUTCOME_ERROR,
	} {
		if got := outcomeOfPy(o); got != want {
			t.Errorf("outcomeOfPy(%s) = %s, want %s", o, got, want)
		}
	}
}
