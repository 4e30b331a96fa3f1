CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  refresh_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE members (
  project_id TEXT NOT NULL REFERENCES projects(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  role INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX members_user ON members(user_id);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  scope INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL
);
CREATE INDEX api_keys_project ON api_keys(project_id);
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY,
  time BIGINT NOT NULL,
  actor_id TEXT NOT NULL,
  action TEXT NOT NULL,
  project_id TEXT NOT NULL,
  target_id TEXT NOT NULL,
  client_address TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_project_time ON audit_events(project_id, time);
CREATE TABLE resources (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  res_key TEXT NOT NULL,
  state TEXT NOT NULL,
  data {{BLOB}} NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX resources_project ON resources(kind, project_id, created_at);
CREATE INDEX resources_parent ON resources(kind, parent_id, created_at);
CREATE UNIQUE INDEX resources_key ON resources(kind, project_id, res_key) WHERE res_key <> '';
CREATE TABLE lineage_edges (
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  params TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (from_id, to_id, operation)
);
CREATE INDEX lineage_to ON lineage_edges(to_id);
