// Package ids makes random, time-ordered identifiers with a type prefix (ds_…, mdl_…).
package ids

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Prefixes for the kinds of things vds names.
const (
	User       = "usr"
	Project    = "prj"
	Session    = "ses"
	APIKey     = "key"
	Dataset    = "ds"
	Upload     = "upl"
	Job        = "job"
	Profile    = "prof"
	Training   = "trn"
	Model      = "mdl"
	Estimate   = "est"
	Execution  = "exe"
	Analysis   = "ana"
	Chart      = "cht"
	Finding    = "fnd"
	Conversion = "cnv"
	Audit      = "aud"
	Message    = "msg"
	Object     = "obj"
)

// New returns prefix_<uuidv7 without dashes>.
func New(prefix string) string {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	return prefix + "_" + strings.ReplaceAll(u.String(), "-", "")
}

// Check verifies that id has the prefix and a well-formed body; it never touches storage.
func Check(id, prefix string) error {
	body, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(body) != 32 {
		return fmt.Errorf("%q is not a valid %s ID (expected %s_ followed by 32 hex digits)", id, prefix, prefix)
	}
	for _, r := range body {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return fmt.Errorf("%q is not a valid %s ID", id, prefix)
		}
	}
	return nil
}

// Prefix returns the type prefix of an ID ("ds" for "ds_…"), or "".
func Prefix(id string) string {
	p, _, ok := strings.Cut(id, "_")
	if !ok {
		return ""
	}
	return p
}
