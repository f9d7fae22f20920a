// `parley server --log-format text|json --log-file PATH`: where the log lines go and in what form
// (--log-level, the minimum level, is the server command's own option).
using System.CommandLine;
using Microsoft.Extensions.Logging;
using Parley.Transport.Files;

namespace Parley.Cli.Logging;

internal sealed class ServerLogOptions
{
    private readonly Option<LogFormat> _format = new("--log-format")
    {
        Description = "text: one short line per entry (default); json: one JSON object per line",
        DefaultValueFactory = _ => LogFormat.Text,
    };

    private readonly Option<string?> _file = new("--log-file") { Description = "Append log lines to this file (created 0600) instead of stderr" };

    public void AddTo(Command command)
    {
        command.Options.Add(_format);
        command.Options.Add(_file);
    }

    public ServerLogSettings Read(ParseResult result, LogLevel level) => new(level, result.GetValue(_format), result.GetValue(_file));
}

internal sealed record ServerLogSettings(LogLevel Level, LogFormat Format, string? File)
{
    /// <exception cref="IOException">The log file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The log file cannot be opened.</exception>
    public ILoggerFactory CreateFactory()
    {
        TextWriter writer = Console.Error;
        if (File is not null)
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(File));
            if (!string.IsNullOrEmpty(directory))
            {
                OwnerOnly.CreateDirectory(directory);
            }
            writer = new StreamWriter(OwnerOnly.OpenWrite(File, FileMode.Append));
        }
        LineLoggerProvider provider = new(writer, Format, TimeProvider.System, ownsWriter: File is not null);
        return LoggerFactory.Create(builder => builder.SetMinimumLevel(Level).AddProvider(provider));
    }
}
