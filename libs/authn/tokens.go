// Package authn verifies who is calling. Access tokens are short-lived and signed with Ed25519 by the
// auth service; every service verifies them locally with the published public keys (no database round
// trip per call). Services acting for a user in background jobs use mesh tokens: short-lived, HMAC-
// signed with the mesh key that only services hold. API keys are checked by hash against the store.
package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors returned by verification. They are deliberately terse: callers map them to Unauthenticated.
var (
	ErrInvalidToken = errors.New("invalid or expired credential")
	ErrNoCredential = errors.New("missing credential: send 'authorization: Bearer <token>' or 'x-api-key: <key>'")
)

// Claims are the verified contents of a token.
type Claims struct {
	Subject   string `json:"sub"` // user ID
	Email     string `json:"email,omitempty"`
	SessionID string `json:"sid,omitempty"` // login session (user tokens)
	Service   string `json:"svc,omitempty"` // mesh tokens: the acting service
	ProjectID string `json:"prj,omitempty"` // mesh tokens and API keys: the one project allowed
	Scope     int    `json:"scp,omitempty"` // API keys: 1 read, 2 write, 3 admin
	KeyID     string `json:"kid,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

const (
	userPrefix = "vdsu1."
	meshPrefix = "vdsm1."
)

var b64 = base64.RawURLEncoding

// Signer signs user access tokens (held only by the auth service).
type Signer struct {
	KeyID string
	Key   ed25519.PrivateKey
}

// Sign returns a token for claims.
func (s *Signer) Sign(c Claims) (string, error) {
	c.KeyID = s.KeyID
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	payload := b64.EncodeToString(body)
	sig := ed25519.Sign(s.Key, []byte(userPrefix+payload))
	return userPrefix + payload + "." + b64.EncodeToString(sig), nil
}

// KeySource returns the public key for a key ID (fetching it if needed).
type KeySource interface {
	PublicKey(ctx context.Context, keyID string) (ed25519.PublicKey, error)
}

// StaticKeys is a fixed key set.
type StaticKeys map[string]ed25519.PublicKey

// PublicKey implements KeySource.
func (s StaticKeys) PublicKey(_ context.Context, id string) (ed25519.PublicKey, error) {
	k, ok := s[id]
	if !ok {
		return nil, ErrInvalidToken
	}
	return k, nil
}

// Verifier checks user and mesh tokens.
type Verifier struct {
	Keys    KeySource
	MeshKey []byte
	Now     func() time.Time
	// Revoked reports sessions revoked since their tokens were issued (fed by revocation events).
	revoked sync.Map // session ID -> expiry time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Revoke marks a session revoked until its tokens can no longer be valid.
func (v *Verifier) Revoke(sessionID string, until time.Time) { v.revoked.Store(sessionID, until) }

// Prune forgets revocations whose tokens have all expired.
func (v *Verifier) Prune() {
	now := v.now()
	v.revoked.Range(func(k, until any) bool {
		if !now.Before(until.(time.Time)) {
			v.revoked.Delete(k)
		}
		return true
	})
}

// Verify checks a bearer token's signature and expiry.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	switch {
	case strings.HasPrefix(token, userPrefix):
		rest := token[len(userPrefix):]
		payload, sig, ok := strings.Cut(rest, ".")
		if !ok {
			return nil, ErrInvalidToken
		}
		c, err := decodeClaims(payload)
		if err != nil {
			return nil, err
		}
		if v.Keys == nil {
			return nil, ErrInvalidToken
		}
		pub, err := v.Keys.PublicKey(ctx, c.KeyID)
		if err != nil {
			return nil, ErrInvalidToken
		}
		rawSig, err := b64.DecodeString(sig)
		if err != nil || !ed25519.Verify(pub, []byte(userPrefix+payload), rawSig) {
			return nil, ErrInvalidToken
		}
		if c.Service != "" {
			return nil, ErrInvalidToken
		}
		return v.checkTimes(c)
	case strings.HasPrefix(token, meshPrefix):
		if len(v.MeshKey) == 0 {
			return nil, ErrInvalidToken
		}
		rest := token[len(meshPrefix):]
		payload, sig, ok := strings.Cut(rest, ".")
		if !ok {
			return nil, ErrInvalidToken
		}
		want := meshMAC(v.MeshKey, payload)
		got, err := b64.DecodeString(sig)
		if err != nil || subtle.ConstantTimeCompare(want, got) != 1 {
			return nil, ErrInvalidToken
		}
		c, err := decodeClaims(payload)
		if err != nil {
			return nil, err
		}
		if c.Service == "" {
			return nil, ErrInvalidToken
		}
		return v.checkTimes(c)
	}
	return nil, ErrInvalidToken
}

func (v *Verifier) checkTimes(c *Claims) (*Claims, error) {
	now := v.now().Unix()
	if c.ExpiresAt <= now || c.IssuedAt > now+60 {
		return nil, ErrInvalidToken
	}
	if c.SessionID != "" {
		if until, ok := v.revoked.Load(c.SessionID); ok && v.now().Before(until.(time.Time)) {
			return nil, ErrInvalidToken
		}
	}
	return c, nil
}

func decodeClaims(payload string) (*Claims, error) {
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return nil, ErrInvalidToken
	}
	c := &Claims{}
	if err := json.Unmarshal(raw, c); err != nil || c.Subject == "" {
		return nil, ErrInvalidToken
	}
	return c, nil
}

func meshMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(meshPrefix + payload))
	return m.Sum(nil)
}

// MeshToken mints a short-lived token for service svc acting for user in one project.
func MeshToken(key []byte, svc, userID, projectID string, ttl time.Duration) (string, error) {
	if len(key) == 0 {
		return "", errors.New("mesh key not configured")
	}
	now := time.Now()
	body, err := json.Marshal(Claims{Subject: userID, Service: svc, ProjectID: projectID, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()})
	if err != nil {
		return "", err
	}
	payload := b64.EncodeToString(body)
	return meshPrefix + payload + "." + b64.EncodeToString(meshMAC(key, payload)), nil
}

// HashSecret is the stored form of an API key or refresh token: SHA-256 hex (the secrets are 256-bit
// random, so a fast hash is appropriate; passwords use argon2id instead).
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// KeyIDOf derives a short key ID from a public key.
func KeyIDOf(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return fmt.Sprintf("k%x", h[:6])
}
