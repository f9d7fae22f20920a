// `--store postgres://user:password@host:port/database?option=value` as an Npgsql connection
// string. Query options pass through under Npgsql's own keywords (`?sslmode=require`,
// `?search_path=parley`), so anything Npgsql supports can be set without a flag of ours.
using Npgsql;

namespace Parley.Server.Storage.Postgres;

public static class PostgresAddress
{
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
                builder[key] = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "true";
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
