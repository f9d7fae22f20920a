// `--store postgres://user:password@host:port/database?option=value` as an Npgsql connection
// string. Query options pass through under Npgsql's own keywords (`?sslmode=require`,
// `?search_path=parley`), so anything Npgsql supports can be set without a flag of ours.
//
// Every session also asks PostgreSQL to let go of a node that went away (SessionOptions): a
// node lost mid-transaction (machine gone, network cut) held its row and advisory locks until
// the database's TCP stack gave up on it, by default after about two hours, and every other
// node's commit that named one of the same recipients waited on them, one 30 s timeout after
// another. Now its transaction ends after 10 s idle, and its session (with the session advisory
// lock of a group) once 3 keepalives 5 s apart go unanswered after 10 s of silence.
using Npgsql;

namespace Parley.Server.Storage.Postgres;

public static class PostgresAddress
{
    /// <summary>
    /// Set in every session a node opens (PostgreSQL's startup options). No transaction of a node
    /// waits on its node between statements for more than a few milliseconds, so one idle for 10 s
    /// belongs to a node that is gone or stuck: PostgreSQL ends it, rolls it back and frees its
    /// locks. The keepalives end a session whose node vanished without closing its socket.
    /// </summary>
    public const string SessionOptions =
        "-c idle_in_transaction_session_timeout=10000 -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3";

    /// <summary>True when <paramref name="store"/> names a PostgreSQL store (postgres:// or postgresql://).</summary>
    public static bool IsPostgres(string? store) =>
        store is not null && (store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The connection string for <paramref name="url"/>; throws <see cref="FormatException"/> with a plain reason.</summary>
    public static string ToConnectionString(string url)
    {
        if (!IsPostgres(url) || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            throw new FormatException("a PostgreSQL store is written postgres://user[:password]@host[:port]/database");
        }
        NpgsqlConnectionStringBuilder builder = new()
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } database ? database : "parley",
            // A node waits at most this long for PostgreSQL before a request gets storage_unavailable.
            Timeout = 5,
            CommandTimeout = 30,
            Options = SessionOptions,
            // The node's side of the same: a database machine that vanished is noticed by the
            // sockets of idle pooled connections, not only by the next command's timeout.
            TcpKeepAlive = true,
            TcpKeepAliveTime = 10,
            TcpKeepAliveInterval = 5,
        };
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = Uri.UnescapeDataString(kv[0]).Replace('_', ' ');
            try
            {
                string value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "true";
                // The operator's own session options come after ours, so theirs win where both set one.
                builder[key] = string.Equals(key, "options", StringComparison.OrdinalIgnoreCase) ? $"{SessionOptions} {value}" : value;
            }
            catch (ArgumentException)
            {
                throw new FormatException($"'{kv[0]}' is not a PostgreSQL connection option");
            }
        }
        return builder.ConnectionString;
    }

    /// <summary>The address without its password, for log lines.</summary>
    public static string Describe(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder = new(connectionString);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
