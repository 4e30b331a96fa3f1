package server

// SetTrialStartHook installs a function every trial worker calls as it starts a trial (tests only).
func SetTrialStartHook(f func(worker, trainingID string, index, attempt int)) { trialStartHook = f }
