package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Slots is a counting semaphore shared by every process on the same NATS server: a name has at most
// limit holders at once. A held slot is a key (name.0 … name.limit-1) in a JetStream key-value bucket
// whose entries expire after the TTL unless their holder refreshes them, so a holder that dies frees
// its slot within one TTL. Creating a key is atomic on the server, so two processes can never take
// the same slot.
type Slots struct {
	kv  jetstream.KeyValue
	ttl time.Duration
}

// NewSlots opens (or creates) the bucket. Every user of a bucket should give the same TTL.
func NewSlots(ctx context.Context, nc *nats.Conn, bucket string, ttl time.Duration) (*Slots, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: ttl, History: 1, Storage: jetstream.FileStorage,
		Description: "leases of a shared concurrency limit (libs/jobs Slots)"})
	if err != nil {
		return nil, fmt.Errorf("slots bucket %s: %w", bucket, err)
	}
	return &Slots{kv: kv, ttl: ttl}, nil
}

// TTL is how long a slot stays held without a refresh.
func (s *Slots) TTL() time.Duration { return s.ttl }

// Lease is one held slot.
type Lease struct {
	s   *Slots
	key string
	mu  sync.Mutex
	rev uint64
}

func slotName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, name)
}

// TryAcquire takes a free slot of name (at most limit held at once) for holder, or returns nil when
// all are held.
func (s *Slots) TryAcquire(ctx context.Context, name string, limit int, holder string) (*Lease, error) {
	if limit < 1 {
		limit = 1
	}
	for i := 0; i < limit; i++ {
		key := slotName(name) + "." + strconv.Itoa(i)
		rev, err := s.kv.Create(ctx, key, []byte(holder))
		if err == nil {
			return &Lease{s: s, key: key, rev: rev}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, err
		}
	}
	return nil, nil
}

// Held counts the held slots of name among the first limit.
func (s *Slots) Held(ctx context.Context, name string, limit int) (int, error) {
	n := 0
	for i := 0; i < limit; i++ {
		_, err := s.kv.Get(ctx, slotName(name)+"."+strconv.Itoa(i))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return n, err
		}
	}
	return n, nil
}

// Refresh keeps the slot for another TTL. It fails when the slot expired meanwhile (and may now be
// someone else's).
func (l *Lease) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.s.kv.Get(ctx, l.key)
	if err != nil {
		return fmt.Errorf("slot %s lost: %w", l.key, err)
	}
	rev, err := l.s.kv.Update(ctx, l.key, e.Value(), l.rev)
	if err != nil {
		return fmt.Errorf("slot %s lost: %w", l.key, err)
	}
	l.rev = rev
	return nil
}

// Release frees the slot (unless it expired and was taken by someone else meanwhile).
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.s.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	return nil
}
