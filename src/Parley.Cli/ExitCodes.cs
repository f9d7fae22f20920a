namespace Parley.Cli;

/// <summary>Exit codes shared by every subcommand, so scripts can tell failures apart.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int ConnectionFailed = 3;
    public const int AuthenticationFailed = 4;
    public const int HostKeyMismatch = 5;
    public const int ProtocolError = 6;

    /// <summary>The user name is not registered on the server and the login was not allowed to create it (no --register).</summary>
    public const int NotRegistered = 7;
}
