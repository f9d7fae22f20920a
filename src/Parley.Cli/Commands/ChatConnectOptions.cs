using System.CommandLine;
using Parley.Cli.CommandLine;

namespace Parley.Cli.Commands;

/// <summary>How `parley chat` (and `parley devices`, which connects the same way) reaches and logs in to a server.</summary>
internal sealed class ChatConnectOptions
{
    private readonly Option<string?> _user = new("--user", "-u") { Description = "Your username (prompted for when missing)" };
    private readonly Option<string[]> _host = new("--host")
    {
        Description = "Server HOST[:PORT] (prompted for when missing; default localhost); repeat it for the nodes of a cluster, tried in turn",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<int?> _port = PortOption.Optional("--port", "Server port (prompted for when missing; default 5555)", aliases: "-p");
    private readonly Option<string?> _passwordFile = new("--password-file") { Description = "Read the password from this file (or set PARLEY_PASSWORD)" };
    private readonly Option<string?> _knownHosts = new("--known-hosts") { Description = "known_hosts file (default: $PARLEY_HOME/known_hosts, ~/.parley/known_hosts)" };
    private readonly Option<bool> _trustNew = new("--trust-new") { Description = "Trust and remember a server key seen for the first time" };
    private readonly Option<string?> _fingerprint = new("--fingerprint") { Description = "Trust the server only if its key has this fingerprint (SHA256:...)" };
    private readonly Option<bool> _register = new("--register") { Description = "Create the account if the name is not registered yet (without it, only a terminal session offers to)" };
    private readonly Option<bool> _verbose = new("--verbose") { Description = "Show the protocol error behind a failed connection" };

    public void AddTo(Command command)
    {
        foreach (Option option in (Option[])[_user, _host, _port, _passwordFile, _knownHosts, _trustNew, _fingerprint, _register, _verbose])
        {
            command.Options.Add(option);
        }
    }

    public ChatCommand.Settings Read(ParseResult result)
    {
        string[] hosts = result.GetValue(_host) ?? [];
        return new(result.GetValue(_user), hosts.FirstOrDefault(), result.GetValue(_port), result.GetValue(_passwordFile),
            result.GetValue(_knownHosts), result.GetValue(_trustNew), result.GetValue(_fingerprint))
        {
            Verbose = result.GetValue(_verbose),
            Register = result.GetValue(_register),
            MoreHosts = [.. hosts.Skip(1)],
        };
    }
}
