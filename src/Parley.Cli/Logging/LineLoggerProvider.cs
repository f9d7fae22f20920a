// The server's log lines: one line per entry, either the console form that sits beside the
// "[SERVER] Started on …" lines ("[SERVER] 17:02:11 alice logged in from 127.0.0.1") or one JSON
// object per line for log collectors. Every message and field passes through the sanitiser: user
// names are sanitised where they are logged already, and this is the last line of defence for
// anything that was not. Lines go out through a bounded queue and a thread of their own
// (LogLineQueue), so a log output that blocks never holds up the code that logs.
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Parley.Protocol.Text;

namespace Parley.Cli.Logging;

public enum LogFormat
{
    Text,
    Json,
}

public sealed class LineLoggerProvider : ILoggerProvider
{
    private const int MaxLineLength = 4096;
    private readonly LogFormat _format;
    private readonly TimeProvider _time;
    private readonly LogLineQueue _queue;

    public LineLoggerProvider(TextWriter writer, LogFormat format, TimeProvider time, bool ownsWriter, int queueCapacity = LogLineQueue.DefaultCapacity)
    {
        _format = format;
        _time = time;
        _queue = new LogLineQueue(writer, ownsWriter, DroppedNotice, queueCapacity);
    }

    /// <summary>Lines dropped because the output did not keep up (tests, diagnostics).</summary>
    internal long DroppedLines => _queue.Dropped;

    /// <summary>True once the writer thread has ended (after <see cref="Dispose"/>; tests).</summary>
    internal bool Drained => _queue.Drained;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    /// <summary>Writes the lines still queued (a stuck output is given up on after a few seconds).</summary>
    public void Dispose() => _queue.Dispose();

    private string DroppedNotice(long dropped) =>
        Format("Parley.Logging", LogLevel.Warning, default, dropped,
            null, static (count, _) => $"{count} log lines dropped: the log output did not keep up");

    internal string Format<TState>(string category, LogLevel level, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = UntrustedText.Sanitize(formatter(state, exception), MaxLineLength);
        DateTimeOffset now = _time.GetLocalNow();
        if (_format == LogFormat.Text)
        {
            StringBuilder line = new("[SERVER] ");
            line.Append(now.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
            if (level >= LogLevel.Warning)
            {
                line.Append(level == LogLevel.Warning ? "warning: " : "error: ");
            }
            line.Append(message);
            if (exception is not null)
            {
                line.Append(" (").Append(exception.GetType().Name).Append(": ").Append(UntrustedText.Sanitize(exception.Message)).Append(')');
            }
            return line.ToString();
        }
        using MemoryStream buffer = new();
        using (Utf8JsonWriter json = new(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", now.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", level.ToString().ToLowerInvariant());
            json.WriteString("category", category);
            if (eventId.Id != 0)
            {
                json.WriteNumber("eventId", eventId.Id);
            }
            json.WriteString("message", message);
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                foreach ((string key, object? value) in fields)
                {
                    if (key == "{OriginalFormat}")
                    {
                        continue;
                    }
                    switch (value)
                    {
                        case null:
                            json.WriteNull(key);
                            break;
                        case int or long or double or float or decimal or short or byte:
                            json.WriteNumber(key, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                        case bool flag:
                            json.WriteBoolean(key, flag);
                            break;
                        default:
                            json.WriteString(key, UntrustedText.Sanitize(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)));
                            break;
                    }
                }
            }
            if (exception is not null)
            {
                json.WriteString("exception", UntrustedText.Sanitize($"{exception.GetType().FullName}: {exception.Message}", MaxLineLength));
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal void Write(string line) => _queue.Add(line);

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(provider.Format(category, logLevel, eventId, state, exception, formatter));
            }
        }
    }
}
