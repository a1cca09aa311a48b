namespace Hermod.Storage.Sqlite;

/// <summary>The SQLite schema (docs/storage.md, "Tables"). Versioned with PRAGMA user_version.</summary>
internal static class Schema
{
    public const int Version = 4;

    /// <summary>Brings a database of an older version up to <see cref="Version"/> (before <see cref="Create"/> runs).</summary>
    public static string Upgrade(int from) =>
        (from < 2 ? "ALTER TABLE messages ADD COLUMN body_offset INTEGER NOT NULL DEFAULT 0; ALTER TABLE blobs ADD COLUMN encoding TEXT;" : "") +
        (from < 3 ? "ALTER TABLE blob_chunks ADD COLUMN segment INTEGER; ALTER TABLE blob_chunks ADD COLUMN seg_offset INTEGER; ALTER TABLE blob_chunks ADD COLUMN length INTEGER;" : "") +
        // 4: blob_chunks was WITHOUT ROWID, whose rows keep only ~1000 bytes in the page: every small body took an overflow page
        (from < 4 ? BlobChunks.Replace("blob_chunks (", "blob_chunks_v4 (") + """
            INSERT INTO blob_chunks_v4 (blob_id, seq, data, segment, seg_offset, length) SELECT blob_id, seq, data, segment, seg_offset, length FROM blob_chunks;
            DROP TABLE blob_chunks;
            ALTER TABLE blob_chunks_v4 RENAME TO blob_chunks;
            """ : "");

    /// <summary>A rowid table: a small body (up to ~4 KB) stays in its row's page.</summary>
    private const string BlobChunks = """
        CREATE TABLE IF NOT EXISTS blob_chunks (
            blob_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            data BLOB NOT NULL,              -- the bytes of a small chunk; empty when they lie in a segment file
            segment INTEGER,                 -- a large chunk: data_dir/blobs/<segment>.seg, from seg_offset, length bytes
            seg_offset INTEGER,
            length INTEGER,
            PRIMARY KEY (blob_id, seq)
        );

        """;

    public const string Create = BlobChunks + """
        CREATE TABLE IF NOT EXISTS blobs (
            id INTEGER PRIMARY KEY,
            hash BLOB UNIQUE,                -- SHA-256 of the content when the hash processor ran (equal bodies shared), else NULL
            size INTEGER NOT NULL,            -- bytes as stored
            refcount INTEGER NOT NULL,       -- messages pointing at it; 0 while a large body is still streaming in (staged)
            encoding TEXT,                   -- NULL: as received; 'br': Brotli (the compress processor)
            created INTEGER NOT NULL         -- unix ms
        );
        CREATE INDEX IF NOT EXISTS blob_chunks_segment ON blob_chunks(segment) WHERE segment IS NOT NULL;
        CREATE TABLE IF NOT EXISTS messages (
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            blob_id INTEGER NOT NULL REFERENCES blobs(id),
            header_prefix BLOB NOT NULL,     -- trace headers Hermod prepends; stored apart so equal bodies share a blob
            body_offset INTEGER NOT NULL DEFAULT 0, -- bytes of the blob skipped when read: a header block replaced by one in header_prefix
            size INTEGER NOT NULL,           -- header_prefix + body
            body_type TEXT NOT NULL,
            smtputf8 INTEGER NOT NULL,
            ret TEXT,
            envid TEXT,
            listener TEXT NOT NULL,
            client_ip TEXT NOT NULL,
            helo TEXT NOT NULL,
            auth_user TEXT,
            tls TEXT,
            tenant TEXT,                     -- the API tenant that sent it (HTTP submission), else NULL
            submission_id TEXT,              -- the Mini-MailGun submission it belongs to, else NULL
            metadata TEXT,                   -- tags and metadata given with an API message (JSON), else NULL
            created INTEGER NOT NULL,
            finished INTEGER                 -- unix ms when its last recipient reached a final state (retention)
        );
        CREATE INDEX IF NOT EXISTS messages_submission ON messages(submission_id) WHERE submission_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS messages_finished ON messages(finished) WHERE finished IS NOT NULL;
        CREATE TABLE IF NOT EXISTS api_keys (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            prefix TEXT NOT NULL UNIQUE,     -- the public part of the key, to find it
            hash BLOB NOT NULL,              -- SHA-256 of the secret part
            created INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS idempotency (
            tenant TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash BLOB NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (tenant, key)
        );
        CREATE TABLE IF NOT EXISTS webhook_cursors (
            url TEXT PRIMARY KEY,
            last_event INTEGER NOT NULL      -- the last event delivered to this receiver
        );
        CREATE TABLE IF NOT EXISTS submissions (
            id TEXT PRIMARY KEY,             -- Mini-MailGun submission id (32 hex)
            client_id TEXT NOT NULL,
            created INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS deliveries (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL REFERENCES messages(id),
            recipient TEXT NOT NULL,
            route TEXT NOT NULL,             -- the destination: the recipient's domain, lower case
            notify INTEGER NOT NULL,
            orcpt TEXT,
            state TEXT NOT NULL,             -- queued, inflight, delivered, deferred, failed, cancelled
            attempts INTEGER NOT NULL DEFAULT 0,
            due_at INTEGER,                  -- unix ms when it may be claimed (inflight: the lease expiry); NULL once final
            lease_owner TEXT,
            last_remote TEXT,
            last_code INTEGER,
            last_enhanced TEXT,
            last_text TEXT,
            dsn_pending TEXT,                -- failure, delay or relayed: a DSN owed to the sender
            delay_warned INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries(message_id);
        CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(due_at) WHERE due_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_dsn ON deliveries(message_id) WHERE dsn_pending IS NOT NULL;
        CREATE TABLE IF NOT EXISTS attempts (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
            started INTEGER NOT NULL,
            ended INTEGER,
            remote_host TEXT,
            code INTEGER,
            enhanced TEXT,
            text TEXT
        );
        CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL,
            delivery_id INTEGER,
            type TEXT NOT NULL,
            at INTEGER NOT NULL,
            detail TEXT
        );
        CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
        """;
}
