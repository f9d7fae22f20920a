// `--bus redis://[:password@]host[:port][/database][?prefix=NAME]` as StackExchange.Redis options.
// The prefix names the cluster: every key and channel starts with it, so two clusters (or two
// tests) can share one Redis without seeing each other.
using StackExchange.Redis;

namespace Parley.Server.Cluster;

public sealed record BusAddress(ConfigurationOptions Options, string Prefix)
{
    public const string DefaultPrefix = "parley";

    public static bool IsRedis(string? bus) => bus is not null && bus.StartsWith("redis://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="url"/>; throws <see cref="FormatException"/> with a plain reason.</summary>
    public static BusAddress Parse(string url)
    {
        if (!IsRedis(url) || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            throw new FormatException("a Redis bus is written redis://[:password@]host[:port][/database][?prefix=NAME]");
        }
        ConfigurationOptions options = new()
        {
            // A node starts, and keeps serving its own connections, while Redis is away; it reconnects by itself.
            AbortOnConnectFail = false,
            ConnectTimeout = 5000,
            // How long a question to Redis may take before the node answers from what it knows alone.
            AsyncTimeout = 2000,
            SyncTimeout = 2000,
            ClientName = "parley",
        };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            if (parts[0].Length > 0)
            {
                options.User = Uri.UnescapeDataString(parts[0]);
            }
            if (parts.Length == 2)
            {
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
        }
        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            options.DefaultDatabase = int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int database)
                ? database
                : throw new FormatException($"'{path}' is not a Redis database number");
        }
        string prefix = DefaultPrefix;
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            if (kv[0] == "prefix" && kv.Length == 2 && kv[1].Length is > 0 and <= 64 && kv[1].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                prefix = kv[1];
            }
            else
            {
                throw new FormatException($"'{kv[0]}': the only bus option is prefix=NAME (1-64 letters, digits, '-', '_', '.')");
            }
        }
        return new BusAddress(options, prefix);
    }

    /// <summary>The address without its password, for log lines.</summary>
    public string Describe() => $"redis://{string.Join(",", Options.EndPoints.Select(e => e.ToString()))} (prefix {Prefix})";
}
