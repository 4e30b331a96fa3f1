package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vdsproject/vds/libs/learn"
)

// signingKeyFile is where the ML service keeps its model signing seed when none is configured.
const signingKeyFile = "model-signing.key"

// loadKeyring builds the model keyring from the configured seed, or from home/model-signing.key
// (created with mode 0600 on first use), plus the configured trusted public keys.
func loadKeyring(home string, cfg Config) (*learn.Keyring, error) {
	var seed []byte
	var err error
	switch {
	case cfg.SigningKeyHex != "":
		if seed, err = hex.DecodeString(strings.TrimSpace(cfg.SigningKeyHex)); err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("--model-signing-key must be a 32-byte Ed25519 seed in hex (64 digits)")
		}
	case home != "":
		if seed, err = seedFile(filepath.Join(home, signingKeyFile)); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("--model-signing-key or --home is required to sign models")
	}
	var extra []ed25519.PublicKey
	for _, h := range strings.Split(cfg.TrustedKeysHex, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		p, err := hex.DecodeString(h)
		if err != nil || len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("--model-trusted-keys: %q is not a 32-byte Ed25519 public key in hex", h)
		}
		extra = append(extra, p)
	}
	return learn.NewKeyring(seed, extra...)
}

func seedFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s is corrupt (want 64 hex digits); models signed with it cannot be verified without it", path)
		}
		return k, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) { // another replica made it first
		return seedFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, err = f.WriteString(hex.EncodeToString(k) + "\n")
	return k, err
}
