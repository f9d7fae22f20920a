// The browser client's files (web/ in the repository), embedded in this assembly so the one
// executable serves them: no folder to ship beside it, nothing read from disk at run time.
using System.Collections.Frozen;
using System.Reflection;

namespace Parley.Server.Web;

internal sealed class WebClientAssets
{
    /// <summary>Every embedded web file's logical name starts with this, followed by its path under web/.</summary>
    internal const string ResourcePrefix = "Parley.Web/";

    private static readonly FrozenDictionary<string, string> s_contentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".json"] = "application/json",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, Asset> _assets;

    private WebClientAssets(FrozenDictionary<string, Asset> assets) => _assets = assets;

    public readonly record struct Asset(byte[] Content, string ContentType);

    public int Count => _assets.Count;

    public static WebClientAssets Load()
    {
        Assembly assembly = typeof(WebClientAssets).Assembly;
        Dictionary<string, Asset> assets = new(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }
            string path = "/" + name[ResourcePrefix.Length..].Replace('\\', '/');
            if (!s_contentTypes.TryGetValue(Path.GetExtension(path), out string? type))
            {
                continue;
            }
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using MemoryStream copy = new();
            stream.CopyTo(copy);
            assets[path] = new Asset(copy.ToArray(), type);
        }
        return new WebClientAssets(assets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The file for a request path ("/" is the page); only names that were embedded, so no path can leave web/.</summary>
    public bool TryGet(string path, out Asset asset) => _assets.TryGetValue(path == "/" ? "/index.html" : path, out asset);
}
