namespace Hermod.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema (docs/storage.md, "Tables"): the tables, columns and units of the SQLite schema, so that both
/// providers are read the same way, plus what a cluster needs — the owner of a staged body, the node table, the
/// transaction of each event and the roles (work one node does at a time). Versioned in <c>schema_version</c>; created
/// or upgraded on start in one transaction.
/// </summary>
internal static class Schema
{
    /// <summary>1: the first (<see cref="Create"/>); 2: the roles table (<see cref="Roles"/>).</summary>
    public const int Version = 2;

    /// <summary>Any number, the same on every node: the transaction that creates or upgrades the schema holds this advisory lock, so nodes starting together take turns.</summary>
    public const long Lock = 0x4865726d6f64; // "Hermod"

    public const string VersionTable = "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);";

    /// <summary>
    /// The statements that bring a database of version <paramref name="from"/> (0: empty) to <see cref="Version"/>, run
    /// one by one (split at semicolons: none in a comment) in one transaction: each version's own, in order. A released
    /// version's statements never change; a later version adds its own here.
    /// </summary>
    public static string Upgrade(int from) =>
        (from < 1 ? Create : "") +
        (from < 2 ? Roles : "");

    /// <summary>Version 1: the first.</summary>
    public const string Create = """
        CREATE TABLE IF NOT EXISTS blobs (
            id bigserial PRIMARY KEY,
            hash bytea UNIQUE,               -- SHA-256 of the content when the hash processor ran (equal bodies shared), else NULL
            size bigint NOT NULL,            -- bytes as stored
            refcount integer NOT NULL,       -- messages pointing at it, 0 while a large body is still streaming in (staged)
            encoding text,                   -- NULL: as received, 'br': Brotli (the compress processor)
            created bigint NOT NULL,         -- unix ms
            owner text                       -- while staged: the node streaming it in (its start drops what it left)
        );
        CREATE TABLE IF NOT EXISTS blob_chunks (
            blob_id bigint NOT NULL,
            seq integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (blob_id, seq)
        );
        CREATE TABLE IF NOT EXISTS messages (
            id text PRIMARY KEY,
            sender text NOT NULL,
            blob_id bigint NOT NULL,
            header_prefix bytea NOT NULL,    -- trace headers Hermod prepends, stored apart so equal bodies share a blob
            body_offset bigint NOT NULL DEFAULT 0, -- bytes of the blob skipped when read: a header block replaced by one in header_prefix
            size bigint NOT NULL,            -- header_prefix + body
            body_type text NOT NULL,
            smtputf8 integer NOT NULL,
            ret text,
            envid text,
            listener text NOT NULL,
            client_ip text NOT NULL,
            helo text NOT NULL,
            auth_user text,
            tls text,
            tenant text,
            submission_id text,
            metadata text,
            created bigint NOT NULL,
            finished bigint                  -- unix ms when its last recipient reached a final state (retention)
        );
        CREATE INDEX IF NOT EXISTS messages_submission ON messages(submission_id) WHERE submission_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS messages_finished ON messages(finished) WHERE finished IS NOT NULL;
        CREATE TABLE IF NOT EXISTS api_keys (
            id bigserial PRIMARY KEY,
            tenant text NOT NULL,
            prefix text NOT NULL UNIQUE,
            hash bytea NOT NULL,
            created bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS idempotency (
            tenant text NOT NULL,
            key text NOT NULL,
            request_hash bytea NOT NULL,
            status integer NOT NULL,
            response text NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (tenant, key)
        );
        CREATE TABLE IF NOT EXISTS webhook_cursors (
            url text PRIMARY KEY,
            last_event bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS submissions (
            id text PRIMARY KEY,
            client_id text NOT NULL,
            created bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS deliveries (
            id bigserial PRIMARY KEY,
            message_id text NOT NULL,
            recipient text NOT NULL,
            route text NOT NULL,
            notify integer NOT NULL,
            orcpt text,
            state text NOT NULL,             -- queued, inflight, delivered, deferred, failed, cancelled, held
            attempts integer NOT NULL DEFAULT 0,
            due_at bigint,                   -- unix ms when it may be claimed (inflight: the lease expiry), NULL once final or held
            lease_owner text,                -- inflight: the node that claimed it
            last_remote text,
            last_code integer,
            last_enhanced text,
            last_text text,
            dsn_pending text,
            delay_warned integer NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries(message_id, route);
        CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(due_at) WHERE due_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_dsn ON deliveries(message_id) WHERE dsn_pending IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_lease ON deliveries(lease_owner) WHERE lease_owner IS NOT NULL;
        CREATE TABLE IF NOT EXISTS attempts (
            id bigserial PRIMARY KEY,
            delivery_id bigint NOT NULL,
            started bigint NOT NULL,
            ended bigint,
            remote_host text,
            code integer,
            enhanced text,
            text text
        );
        CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
        CREATE TABLE IF NOT EXISTS events (
            id bigserial PRIMARY KEY,
            message_id text NOT NULL,
            delivery_id bigint,
            type text NOT NULL,
            at bigint NOT NULL,
            detail text,
            tx xid8 NOT NULL DEFAULT pg_current_xact_id() -- the writing transaction: the feed shows an event once no older one can still commit
        );
        CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
        CREATE TABLE IF NOT EXISTS nodes (
            name text PRIMARY KEY,           -- cluster.node_name
            started bigint NOT NULL,
            heartbeat bigint NOT NULL        -- unix ms of its last beat: silent past storage.postgres.node_timeout, it is dead
        );
        """;

    /// <summary>Version 2: the work that runs on one node at a time (<see cref="NodeMonitor.HoldAsync"/>).</summary>
    public const string Roles = """
        CREATE TABLE IF NOT EXISTS roles (
            name text PRIMARY KEY,           -- the work: 'dsn', 'webhooks'
            node text NOT NULL,              -- the node that does it, until it is dead (see nodes) and another takes it
            since bigint NOT NULL            -- unix ms when that node took it
        );
        """;
}
