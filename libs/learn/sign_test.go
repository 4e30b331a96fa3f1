package learn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

func seed(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SeedSize) }

func trainedTitanic(t *testing.T) *Model {
	t.Helper()
	f := shared(t, "tabular/titanic.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: time.Second, Seed: 3, Algorithms: []string{AlgoGBDT}})
	if err != nil {
		t.Fatal(err)
	}
	return r.Best
}

// TestSignedArtifactRefusesEveryFlippedByte seals a trained tree model, then flips each byte of the
// stored bytes in turn (the artifact, its digest, the signature, the key ID and the framing): every
// single-byte change must be refused before the model is parsed.
func TestSignedArtifactRefusesEveryFlippedByte(t *testing.T) {
	m := trainedTitanic(t)
	k, err := NewKeyring(seed(1))
	if err != nil {
		t.Fatal(err)
	}
	stored, env, err := k.Seal("mdl_a", m)
	if err != nil {
		t.Fatal(err)
	}
	if env.Digest[:7] != "sha256:" || len(env.Signature) != ed25519.SignatureSize || env.KeyId != k.KeyID() {
		t.Fatalf("envelope %v", env)
	}
	got, err := k.OpenSigned("mdl_a", env.Digest, stored)
	if err != nil {
		t.Fatalf("an untouched artifact was refused: %v", err)
	}
	if got.Config() != m.Config() {
		t.Fatalf("config %q != %q", got.Config(), m.Config())
	}
	for i := range stored {
		bad := bytes.Clone(stored)
		bad[i] ^= 0x01
		if _, err := k.OpenSigned("mdl_a", env.Digest, bad); err == nil {
			t.Fatalf("byte %d of %d flipped and the artifact still loaded", i, len(stored))
		} else if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrUntrustedKey) {
			t.Fatalf("byte %d: refused with an unexpected error %v", i, err)
		}
	}
}

func TestSignedArtifactRefusals(t *testing.T) {
	m := trainedTitanic(t)
	mine, _ := NewKeyring(seed(1))
	other, _ := NewKeyring(seed(2))
	rotated, _ := NewKeyring(seed(3), other.PublicKey()) // trusts the old key "other"
	stored, env, err := mine.Seal("mdl_a", m)
	if err != nil {
		t.Fatal(err)
	}
	otherStored, otherEnv, _ := other.Seal("mdl_a", m)
	raw, _ := m.Marshal()
	cases := []struct {
		name    string
		k       *Keyring
		id      string
		digest  string
		stored  []byte
		wantErr error
	}{
		{"good", mine, "mdl_a", env.Digest, stored, nil},
		{"unsigned raw artifact", mine, "mdl_a", Digest(raw), raw, ErrUnsigned},
		{"empty", mine, "mdl_a", env.Digest, nil, ErrUnsigned},
		{"moved to another model", mine, "mdl_b", env.Digest, stored, ErrBadSignature},
		{"record digest differs", mine, "mdl_a", Digest([]byte("x")), stored, ErrTampered},
		{"no record digest", mine, "mdl_a", "", stored, ErrTampered},
		{"signed by an untrusted key", mine, "mdl_a", otherEnv.Digest, otherStored, ErrUntrustedKey},
		{"old key still trusted after rotation", rotated, "mdl_a", otherEnv.Digest, otherStored, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.k.OpenSigned(c.id, c.digest, c.stored)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
		})
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("a short seed was accepted")
	}
}
