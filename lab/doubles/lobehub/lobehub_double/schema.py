"""The stand-in's schema: LobeHub 2.2.x table and column names for what it stores.

Column names and types follow packages/database/src/schemas/{user,betterAuth,agent,session,
topic,message}.ts and the migrations that made them (0005_pgvector, 0049_better_auth,
0052_topic_and_messages, 0053_better_auth_admin, 0059_add_normalized_email_indexes, ...). Only
the tables the stand-in writes are made, each with the columns a 2.2 row has (not every one:
README.md lists what is left out). Every statement is idempotent, so the schema step runs at
every start as the real image's migration step does.
"""

SCHEMA = r"""
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY NOT NULL,
  username text UNIQUE,
  email text UNIQUE,
  normalized_email text UNIQUE,
  avatar text,
  phone text UNIQUE,
  first_name text,
  last_name text,
  full_name text,
  is_onboarded boolean DEFAULT false,
  onboarding jsonb,
  clerk_created_at timestamp with time zone,
  email_verified boolean DEFAULT false NOT NULL,
  email_verified_at timestamp with time zone,
  preference jsonb,
  role text,
  banned boolean DEFAULT false,
  ban_reason text,
  ban_expires timestamp with time zone,
  two_factor_enabled boolean DEFAULT false,
  phone_number_verified boolean,
  last_active_at timestamp with time zone DEFAULT now() NOT NULL,
  accessed_at timestamp with time zone DEFAULT now() NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);
CREATE INDEX IF NOT EXISTS users_username_idx ON users (username);
CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at);

CREATE TABLE IF NOT EXISTS user_settings (
  id text PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  tts jsonb,
  hotkey jsonb,
  key_vaults text,
  general jsonb,
  language_model jsonb,
  system_agent jsonb,
  default_agent jsonb,
  market jsonb,
  memory jsonb,
  tool jsonb,
  image jsonb
);

-- Better Auth (0049_better_auth): credential accounts, sessions, verifications.
CREATE TABLE IF NOT EXISTS accounts (
  access_token text,
  access_token_expires_at timestamp,
  account_id text NOT NULL,
  created_at timestamp DEFAULT now() NOT NULL,
  id text PRIMARY KEY NOT NULL,
  id_token text,
  password text,
  provider_id text NOT NULL,
  refresh_token text,
  refresh_token_expires_at timestamp,
  scope text,
  updated_at timestamp NOT NULL,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS account_userId_idx ON accounts (user_id);

CREATE TABLE IF NOT EXISTS auth_sessions (
  created_at timestamp DEFAULT now() NOT NULL,
  expires_at timestamp NOT NULL,
  id text PRIMARY KEY NOT NULL,
  impersonated_by text,
  ip_address text,
  token text NOT NULL CONSTRAINT auth_sessions_token_unique UNIQUE,
  updated_at timestamp NOT NULL,
  user_agent text,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS auth_session_userId_idx ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS verifications (
  created_at timestamp DEFAULT now() NOT NULL,
  expires_at timestamp NOT NULL,
  id text PRIMARY KEY NOT NULL,
  identifier text NOT NULL,
  updated_at timestamp DEFAULT now() NOT NULL,
  value text NOT NULL
);

-- The chat side: agents (the inbox agent is one), sessions (LobeHub's chat sessions, not
-- Better Auth's), topics (conversations) and messages.
CREATE TABLE IF NOT EXISTS agents (
  id text PRIMARY KEY NOT NULL,
  slug varchar(100),
  title varchar(255),
  description varchar(1000),
  tags jsonb DEFAULT '[]'::jsonb,
  avatar text,
  background_color text,
  plugins jsonb,
  client_id text,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  chat_config jsonb,
  few_shots jsonb,
  model text,
  params jsonb DEFAULT '{}'::jsonb,
  provider text,
  system_role text,
  tts jsonb,
  virtual boolean DEFAULT false,
  pinned boolean,
  opening_message text,
  opening_questions text[] DEFAULT '{}'::text[],
  accessed_at timestamp with time zone DEFAULT now() NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS agents_slug_user_id_unique ON agents (slug, user_id);
CREATE INDEX IF NOT EXISTS agents_user_id_idx ON agents (user_id);

CREATE TABLE IF NOT EXISTS sessions (
  id text PRIMARY KEY NOT NULL,
  slug varchar(100) NOT NULL,
  title text,
  description text,
  avatar text,
  background_color text,
  type text DEFAULT 'agent',
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  group_id text,
  client_id text,
  pinned boolean DEFAULT false,
  accessed_at timestamp with time zone DEFAULT now() NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS slug_user_id_unique ON sessions (slug, user_id);

CREATE TABLE IF NOT EXISTS topics (
  id text PRIMARY KEY NOT NULL,
  title text,
  favorite boolean DEFAULT false,
  session_id text REFERENCES sessions(id) ON DELETE CASCADE,
  content text,
  editor_data jsonb,
  agent_id text REFERENCES agents(id) ON DELETE CASCADE,
  group_id text,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id text,
  description text,
  history_summary text,
  metadata jsonb,
  trigger text,
  mode text,
  accessed_at timestamp with time zone DEFAULT now() NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE INDEX IF NOT EXISTS topics_user_id_idx ON topics (user_id);
CREATE INDEX IF NOT EXISTS topics_agent_id_idx ON topics (agent_id);

CREATE TABLE IF NOT EXISTS messages (
  id text PRIMARY KEY NOT NULL,
  role varchar(255) NOT NULL,
  content text,
  editor_data jsonb,
  summary text,
  reasoning jsonb,
  search jsonb,
  metadata jsonb,
  model text,
  provider text,
  favorite boolean DEFAULT false,
  error jsonb,
  tools jsonb,
  trace_id text,
  observation_id text,
  client_id text,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id text REFERENCES sessions(id) ON DELETE CASCADE,
  topic_id text REFERENCES topics(id) ON DELETE CASCADE,
  thread_id text,
  parent_id text REFERENCES messages(id) ON DELETE SET NULL,
  quota_id text REFERENCES messages(id) ON DELETE SET NULL,
  agent_id text REFERENCES agents(id) ON DELETE CASCADE,
  group_id text,
  target_id text,
  message_group_id varchar(255),
  accessed_at timestamp with time zone DEFAULT now() NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_created_at_idx ON messages (created_at);
CREATE INDEX IF NOT EXISTS messages_topic_id_idx ON messages (topic_id);
CREATE INDEX IF NOT EXISTS messages_user_id_idx ON messages (user_id);
CREATE INDEX IF NOT EXISTS messages_agent_id_idx ON messages (agent_id);
CREATE INDEX IF NOT EXISTS messages_parent_id_idx ON messages (parent_id);
"""

PGVECTOR_HINT = ("The `vector` extension is not available on this Postgres: LobeHub needs an "
                 "image with pgvector (the lab: pgvector/pgvector:pg17; users: "
                 "paradedb/paradedb, which also has pg_search).")


def migrate(conn):
    """Runs the schema script in one transaction (a concurrent second start waits on the lock)."""
    conn.script("BEGIN; SELECT pg_advisory_xact_lock(3210); " + SCHEMA + " COMMIT;")
