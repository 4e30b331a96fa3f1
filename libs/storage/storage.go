// Package storage is the metadata store of vds: one interface, with SQL backends for SQLite (the
// embedded default) and PostgreSQL (production), and one conformance suite that both pass.
//
// Users, sessions, projects, memberships, API keys and the audit log have typed records. Everything a
// service derives (datasets and their versions, jobs, profiles, trainings, models, estimates,
// executions, analyses, conversations) is a Resource: a protobuf message kept as bytes plus the columns
// that are queried (kind, ID, project, parent, key, state). Lineage edges link resources.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; backends wrap them.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
)

// Roles, in increasing power.
const (
	RoleViewer = 1
	RoleEditor = 2
	RoleOwner  = 3
)

// User is a person who can log in.
type User struct {
	ID           string
	Email        string // lower-cased
	DisplayName  string
	PasswordHash string // PHC string (argon2id)
	CreatedAt    time.Time
}

// Session is a login: the refresh token's hash, its expiry and revocation.
type Session struct {
	ID          string
	UserID      string
	RefreshHash string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  time.Time
	RevokedAt   time.Time // zero while valid
}

// Project groups resources; members have roles in it.
type Project struct {
	ID        string
	Name      string
	CreatedBy string
	CreatedAt time.Time
}

// Member is a user's role in a project.
type Member struct {
	ProjectID string
	UserID    string
	Role      int
	CreatedAt time.Time
}

// ProjectRole is a project with the role of the user who listed it.
type ProjectRole struct {
	Project
	Role int
}

// APIKey is a program credential; only its hash is kept.
type APIKey struct {
	ID         string
	ProjectID  string
	UserID     string
	Name       string
	Prefix     string
	Hash       string
	Scope      int
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// AuditEvent is one security-relevant event.
type AuditEvent struct {
	ID            string
	Time          time.Time
	ActorID       string
	Action        string
	ProjectID     string
	TargetID      string
	ClientAddress string
	Details       map[string]string
}

// Resource is any derived thing a service keeps, stored as serialized protobuf bytes.
type Resource struct {
	Kind      string
	ID        string
	ProjectID string
	ParentID  string // e.g. the dataset of a version, the training of a model
	Key       string // optional, unique per (kind, project): e.g. a content hash for dedupe
	State     string
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ListQuery selects resources of one kind; empty fields do not filter. Results are newest first.
type ListQuery struct {
	Kind      string
	ProjectID string
	ParentID  string
	State     string
	Limit     int
	// BeforeID continues a listing: only resources created before this one.
	BeforeID string
}

// Edge records that ToID was made from FromID by Operation.
type Edge struct {
	FromID    string
	ToID      string
	Operation string
	Params    map[string]string
	CreatedAt time.Time
}

// Storage is the metadata store. Update functions run inside a transaction with the row locked;
// returning an error from fn aborts it.
type Storage interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	GetSessionByRefreshHash(ctx context.Context, hash string) (Session, error)
	UpdateSession(ctx context.Context, id string, fn func(Session) (Session, error)) (Session, error)
	// RevokeUserSessions revokes, at at, every live session of userID except keep, and returns the
	// IDs it revoked (after a password change).
	RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) ([]string, error)
	// ListSessionsRevokedSince returns the sessions revoked at or after since (for revocation catch-up).
	ListSessionsRevokedSince(ctx context.Context, since time.Time) ([]Session, error)

	// AddLoginFailure records a failed login under key (an account or a client address).
	AddLoginFailure(ctx context.Context, key string, at time.Time) error
	// CountLoginFailures counts key's failures at or after since.
	CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error)
	// LoginFailureTimes returns the times of key's failures at or after since, oldest first (how
	// long a throttled login must wait).
	LoginFailureTimes(ctx context.Context, key string, since time.Time) ([]time.Time, error)
	// ClearLoginFailures forgets key's failures (after a successful login) and, for every key,
	// those older than before.
	ClearLoginFailures(ctx context.Context, key string, before time.Time) error

	// CreateProject creates the project and makes owner its first member, atomically.
	CreateProject(ctx context.Context, p Project, owner Member) error
	GetProject(ctx context.Context, id string) (Project, error)
	ListProjects(ctx context.Context, userID string) ([]ProjectRole, error)
	PutMember(ctx context.Context, m Member) error
	GetMember(ctx context.Context, projectID, userID string) (Member, error)
	ListMembers(ctx context.Context, projectID string) ([]Member, error)
	DeleteMember(ctx context.Context, projectID, userID string) error

	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	GetAPIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	ListAPIKeys(ctx context.Context, projectID string) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, fn func(APIKey) (APIKey, error)) (APIKey, error)

	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, projectID string, limit int, before time.Time) ([]AuditEvent, error)

	CreateResource(ctx context.Context, r Resource) error
	GetResource(ctx context.Context, kind, id string) (Resource, error)
	GetResourceByKey(ctx context.Context, kind, projectID, key string) (Resource, error)
	// UpdateResource runs fn on the stored resource inside a write transaction and stores its
	// result. fn must not call the Storage: on SQLite the transaction holds the file's write lock
	// (shared by every Store of the process), so a write from inside fn would wait for itself.
	// The other Update* methods have the same rule.
	UpdateResource(ctx context.Context, kind, id string, fn func(Resource) (Resource, error)) (Resource, error)
	// SetResourceState replaces a resource's state and data in one statement, without reading it
	// first (for a writer that owns the resource, such as the service finishing an execution
	// record); ErrNotFound when it does not exist.
	SetResourceState(ctx context.Context, kind, id, state string, data []byte) error
	ListResources(ctx context.Context, q ListQuery) ([]Resource, error)
	DeleteResource(ctx context.Context, kind, id string) error

	AddEdges(ctx context.Context, edges []Edge) error
	// EdgesInto returns the edges whose ToID is one of ids.
	EdgesInto(ctx context.Context, ids []string) ([]Edge, error)

	Close() error
}
