package grpcx

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/storage"
)

// RevocationSubject is the NATS subject on which the auth service announces revoked sessions.
const RevocationSubject = "vds.auth.session_revoked"

// MaxAccessTTL bounds the lifetime of an access token: a session revoked longer ago than this has no
// live access token left, so its revocation no longer needs remembering.
const MaxAccessTTL = time.Hour

// RevocationPoll is how often every service re-reads recent revocations from the store, the fallback
// for a NATS event it missed (disconnected, just started). It keeps the "within a few seconds" promise
// even without NATS.
const RevocationPoll = 2 * time.Second

type revocationEvent struct {
	SessionID string `json:"session_id"`
	RevokedAt int64  `json:"revoked_at_unix_micro"`
}

// PublishRevocation announces that a session was revoked at revokedAt.
func PublishRevocation(nc *nats.Conn, sessionID string, revokedAt time.Time) error {
	if nc == nil {
		return nil
	}
	b, _ := json.Marshal(revocationEvent{SessionID: sessionID, RevokedAt: revokedAt.UnixMicro()})
	if err := nc.Publish(RevocationSubject, b); err != nil {
		return err
	}
	return nc.Flush()
}

// WatchRevocations keeps v's list of revoked sessions current until ctx ends: at once from the store
// (revocations made while this process was down), then from NATS events as they come, and from the
// store again every RevocationPoll. Access tokens are verified locally, so this is what makes a
// logout hold on every service within seconds rather than when the token expires.
func WatchRevocations(ctx context.Context, nc *nats.Conn, st storage.Storage, v *authn.Verifier, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	since := time.Now().Add(-MaxAccessTTL)
	load := func() {
		ss, err := st.ListSessionsRevokedSince(ctx, since)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("read revoked sessions", "err", err)
			}
			return
		}
		for _, s := range ss {
			v.Revoke(s.ID, s.RevokedAt.Add(MaxAccessTTL))
			// Revocations are written with the writer's clock: look back a little for skew.
			if t := s.RevokedAt.Add(-10 * time.Second); t.After(since) {
				since = t
			}
		}
	}
	load()
	var sub *nats.Subscription
	if nc != nil {
		var err error
		sub, err = nc.Subscribe(RevocationSubject, func(m *nats.Msg) {
			var ev revocationEvent
			if json.Unmarshal(m.Data, &ev) == nil && ev.SessionID != "" {
				v.Revoke(ev.SessionID, time.UnixMicro(ev.RevokedAt).Add(MaxAccessTTL))
			}
		})
		if err != nil {
			return err
		}
	}
	go func() {
		t := time.NewTicker(RevocationPoll)
		defer t.Stop()
		if sub != nil {
			defer sub.Unsubscribe()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				load()
				v.Prune()
			}
		}
	}()
	return nil
}
