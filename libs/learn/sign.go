package learn

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// Errors of OpenSigned. Each one means the artifact was refused before any of it was parsed as a model.
var (
	// ErrUnsigned: the stored bytes are not a signed artifact (no signature, no digest).
	ErrUnsigned = errors.New("the model artifact is not signed")
	// ErrTampered: the artifact's bytes do not match their digest, or the digest does not match the record.
	ErrTampered = errors.New("the model artifact does not match its digest (it was modified or corrupted)")
	// ErrBadSignature: the signature does not verify for this model ID and digest.
	ErrBadSignature = errors.New("the model artifact's signature is not valid")
	// ErrUntrustedKey: the artifact was signed by a key this keyring does not trust.
	ErrUntrustedKey = errors.New("the model artifact was signed by an untrusted key")
)

// signingDomain separates model signatures from any other use of the key.
const signingDomain = "vds.ml.v1.ModelArtifact"

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// KeyID names an Ed25519 public key: "ed25519:" and the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

func signedMessage(modelID, digest string) []byte {
	return []byte(signingDomain + "\n" + modelID + "\n" + digest + "\n")
}

// Keyring signs model artifacts with one Ed25519 key and verifies them against a set of trusted
// public keys (its own and, for rotation, earlier ones).
type Keyring struct {
	priv    ed25519.PrivateKey
	id      string
	trusted map[string]ed25519.PublicKey
}

// NewKeyring makes a keyring from a 32-byte Ed25519 seed; extra public keys are trusted for
// verification only.
func NewKeyring(seed []byte, extra ...ed25519.PublicKey) (*Keyring, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("learn: a model signing key is a %d-byte Ed25519 seed, got %d bytes", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	k := &Keyring{priv: priv, id: KeyID(pub), trusted: map[string]ed25519.PublicKey{KeyID(pub): pub}}
	for _, p := range extra {
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("learn: a trusted model key is a %d-byte Ed25519 public key, got %d bytes", ed25519.PublicKeySize, len(p))
		}
		k.trusted[KeyID(p)] = p
	}
	return k, nil
}

// KeyID is the ID of the signing key.
func (k *Keyring) KeyID() string { return k.id }

// PublicKey is the signing key's public half.
func (k *Keyring) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// Seal serializes m and signs it for modelID. It returns the bytes to store (a SignedModelArtifact)
// and the envelope (digest, signature, key ID) to keep in the registry record.
func (k *Keyring) Seal(modelID string, m *Model) ([]byte, *mlv1.SignedModelArtifact, error) {
	art, err := m.Marshal()
	if err != nil {
		return nil, nil, err
	}
	env := &mlv1.SignedModelArtifact{Artifact: art, Digest: Digest(art), KeyId: k.id, ModelId: modelID}
	env.Signature = ed25519.Sign(k.priv, signedMessage(modelID, env.Digest))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	return b, &mlv1.SignedModelArtifact{Digest: env.Digest, Signature: env.Signature, KeyId: env.KeyId, ModelId: modelID}, nil
}

// Verify checks stored bytes (a SignedModelArtifact) for modelID against the digest the registry
// recorded: the envelope must name the model, its digest must equal wantDigest and the artifact's
// SHA-256, and its signature must verify with a trusted key. It returns the verified artifact bytes;
// nothing of them is parsed before every check has passed.
func (k *Keyring) Verify(modelID, wantDigest string, stored []byte) ([]byte, error) {
	env := &mlv1.SignedModelArtifact{}
	if err := proto.Unmarshal(stored, env); err != nil || len(env.GetSignature()) != ed25519.SignatureSize ||
		!strings.HasPrefix(env.GetDigest(), "sha256:") || !strings.HasPrefix(env.GetKeyId(), "ed25519:") {
		return nil, ErrUnsigned
	}
	if env.GetModelId() != modelID {
		return nil, fmt.Errorf("%w: it was signed for model %q", ErrBadSignature, env.GetModelId())
	}
	if wantDigest == "" || env.GetDigest() != wantDigest || Digest(env.GetArtifact()) != wantDigest {
		return nil, ErrTampered
	}
	pub, ok := k.trusted[env.GetKeyId()]
	if !ok {
		return nil, fmt.Errorf("%w (%s)", ErrUntrustedKey, env.GetKeyId())
	}
	if !ed25519.Verify(pub, signedMessage(modelID, wantDigest), env.GetSignature()) {
		return nil, ErrBadSignature
	}
	return bytes.Clone(env.GetArtifact()), nil
}

// OpenSigned verifies stored bytes as Verify does and only then parses and validates the model.
func (k *Keyring) OpenSigned(modelID, wantDigest string, stored []byte) (*Model, error) {
	art, err := k.Verify(modelID, wantDigest, stored)
	if err != nil {
		return nil, err
	}
	return Unmarshal(art)
}
