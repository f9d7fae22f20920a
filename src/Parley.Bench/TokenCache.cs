using System.Text.Json;
using Parley.Transport.Files;

namespace Parley.Bench;

/// <summary>Device tokens of the benchmark's accounts, kept between runs in a 0600 file.</summary>
internal sealed class TokenCache(string? path)
{
    private readonly Dictionary<string, string> _tokens = Load(path);
    private readonly object _lock = new();

    public string? Get(string user)
    {
        lock (_lock)
        {
            return _tokens.GetValueOrDefault(user);
        }
    }

    public void Set(string user, string? token)
    {
        lock (_lock)
        {
            if (token is null)
            {
                _tokens.Remove(user);
            }
            else
            {
                _tokens[user] = token;
            }
        }
    }

    public void Save()
    {
        if (path is null)
        {
            return;
        }
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            // Tokens are credentials: owner-only, like the rest of ~/.parley.
            OwnerOnly.CreateDirectory(directory);
        }
        string json;
        lock (_lock)
        {
            json = JsonSerializer.Serialize(_tokens);
        }
        using FileStream stream = OwnerOnly.OpenWrite(path, FileMode.Create);
        using StreamWriter writer = new(stream);
        writer.Write(json);
    }

    private static Dictionary<string, string> Load(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
