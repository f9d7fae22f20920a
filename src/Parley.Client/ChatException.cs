namespace Parley.Client;

/// <summary>The server refused a request; <see cref="Code"/> is one of Parley.Messaging.ErrorCodes.</summary>
public sealed class ChatException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The TCP connection could not be made or was lost.</summary>
public sealed class ChatConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>There is no folder for the user's Parley files (no PARLEY_HOME, and HOME unset or missing).</summary>
public sealed class ParleyHomeException(string message) : Exception(message);
