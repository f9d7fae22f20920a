using System.CommandLine;
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Transport.Channels;
using Parley.Transport.Trust;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

/// <summary><c>parley chat</c>: the interactive client of the first seed document, with passwords and pinned server keys.</summary>
internal static class ChatCommand
{
    private const string Banner = """

        === Secure Messaging Client ===
        Commands:
          send <username> <message>  - Send a message (end-to-end encrypted to each of their devices)
          verify <username>          - Show the safety number to compare with them out of band
          trust <username>           - Accept a changed identity key after verifying it
          list                       - List online users
          broadcast <message>        - Send a message to everyone online
          devices                    - List your devices (logged-in clients)
          revoke <device id>         - Revoke a device: its token stops working
          help                       - Show this help
          quit | exit                - Disconnect and exit
        ================================
        """;

    internal static Command Create()
    {
        ChatConnectOptions connect = new();
        Option<bool> json = new("--json") { Description = "Print incoming messages and statuses as one JSON object per line (for bots)" };
        Command command = new("chat", "Connect to a Parley server and chat");
        connect.AddTo(command);
        command.Options.Add(json);
        // On the thread pool: the questions before the chat block on a read that Ctrl-C cannot
        // interrupt, and on the main thread that would hold the process until the read returned.
        command.SetAction((result, cancellationToken) => Task.Run(() =>
            new Session(new ChatConsole { Json = result.GetValue(json) }).RunAsync(connect.Read(result), cancellationToken), CancellationToken.None));
        return command;
    }

    internal sealed record Settings(string? User, string? Host, int? Port, string? PasswordFile, string? KnownHosts, bool TrustNew, string? Fingerprint);

    internal sealed class Session(ChatConsole console)
    {
        private ParleyHome _home = null!;
        private ClientLogin _login = null!;

        /// <param name="afterLogin">Instead of the interactive chat, run this once logged in (`parley devices`).</param>
        public async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken, Func<ChatClient, CancellationToken, Task<int>>? afterLogin = null)
        {
            // Ctrl-C is a signal until the chat reads it as a key: at a question or while connecting,
            // end the line so the shell's prompt starts on a fresh one.
            using CancellationTokenRegistration newline = cancellationToken.Register(() =>
            {
                if (!console.InputStarted)
                {
                    Console.WriteLine();
                }
            });
            try
            {
                return await RunSessionAsync(settings, cancellationToken, afterLogin);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ChatLoop.InterruptedExitCode;
            }
        }

        private async Task<int> RunSessionAsync(Settings settings, CancellationToken cancellationToken, Func<ChatClient, CancellationToken, Task<int>>? afterLogin)
        {
            try
            {
                _home = ParleyHome.Default();
                _login = new ClientLogin(_home);
            }
            catch (ParleyHomeException e)
            {
                console.WriteError(ChatText.Error(e.Message));
                return ExitCodes.Usage;
            }
            string? userInput = settings.User ?? console.Ask("Enter your username: ");
            if (!Usernames.TryNormalize(userInput, out string user, out string nameError))
            {
                console.WriteError($"[ERROR] {nameError}");
                return ExitCodes.Usage;
            }
            string host = settings.Host ?? Default(console.Ask("Server host (default: localhost): "), "localhost");
            int port;
            if (settings.Port is int given)
            {
                port = given;
            }
            else if (!int.TryParse(Default(console.Ask("Server port (default: 5555): "), "5555"), out port))
            {
                console.WriteError("[ERROR] The port must be a number from 1 to 65535.");
                return ExitCodes.Usage;
            }
            if (port is < 1 or > 65535)
            {
                console.WriteError("[ERROR] The port must be a number from 1 to 65535.");
                return ExitCodes.Usage;
            }
            string? filePassword = null;
            if (settings.PasswordFile is not null)
            {
                try
                {
                    filePassword = File.ReadAllText(settings.PasswordFile).TrimEnd('\r', '\n');
                }
                catch (IOException e)
                {
                    console.WriteError($"[ERROR] Cannot read the password file: {e.Message}");
                    return ExitCodes.Usage;
                }
            }
            filePassword ??= Environment.GetEnvironmentVariable("PARLEY_PASSWORD");

            KnownHostsTrust trust = new(new KnownHostsFile(settings.KnownHosts ?? _home.KnownHostsPath), $"{host}:{port}")
            {
                TrustNew = settings.TrustNew,
                ExpectedFingerprint = settings.Fingerprint,
                Prompt = console.Interactive ? AskToTrust : null,
            };
            ChatClient client;
            try
            {
                client = await ChatClient.ConnectAsync(host, port, new ClientChannelOptions(trust), cancellationToken);
            }
            catch (ChatConnectionException e)
            {
                console.WriteError(ChatText.Error(e.Message));
                return ExitCodes.ConnectionFailed;
            }
            catch (HostKeyMismatchException e)
            {
                console.WriteError(e.Message);
                return ExitCodes.HostKeyMismatch;
            }
            catch (ParleyProtocolException e) when (e.Error == ProtocolError.UntrustedPeer)
            {
                console.WriteError(ChatText.Error("Not connected", e.Detail));
                return ExitCodes.HostKeyMismatch;
            }
            catch (ParleyProtocolException e)
            {
                console.WriteError(ChatText.Error($"Secure connection to {host}:{port} failed", e.Message));
                return ExitCodes.ConnectionFailed;
            }
            ChatLoop chat = new(console, _login, user, host, port,
                () => new KnownHostsTrust(new KnownHostsFile(settings.KnownHosts ?? _home.KnownHostsPath), $"{host}:{port}")
                {
                    TrustNew = settings.TrustNew,
                    ExpectedFingerprint = settings.Fingerprint,
                }, filePassword, Banner);
            await using (client)
            {
                console.WriteLine($"[CLIENT] Connected to server at {host}:{port}");
                console.WriteLine($"[CLIENT] Key exchange completed successfully ({client.Group}, {client.Suite})");
                if (_login.RecordServerKey(client, host, port))
                {
                    console.WriteLine($"[CLIENT] {host}:{port} has a new key: device tokens issued under its old key were deleted");
                }
                // Handlers first: the server starts sending the inbox the moment login succeeds.
                // Messages wait for the end-to-end keys, which are loaded right after login.
                chat.Attach(client);
                if (afterLogin is not null)
                {
                    // Not a chat: take no messages, so none is acknowledged unseen.
                    client.MessageHandler = null;
                }
                (int loginCode, string? authenticated) = await LoginAsync(client, user, filePassword, cancellationToken);
                if (loginCode != ExitCodes.Success)
                {
                    chat.KeysReady(null);
                    return loginCode;
                }
                if (afterLogin is not null)
                {
                    chat.KeysReady(null);
                    console.WriteLine(authenticated!);
                    return await afterLogin(client, cancellationToken);
                }
                if (client.DeviceId is null)
                {
                    // A server from before devices: it has no key directory, so nothing can be sent end to end.
                    chat.KeysReady(null);
                    console.WriteLine(authenticated!);
                    console.WriteError("[ERROR] This server does not support end-to-end encryption; 'send' is disabled.");
                    PrintBanner();
                    return await chat.RunAsync(client, cancellationToken);
                }
                ChatEndToEnd keys;
                try
                {
                    keys = ChatEndToEnd.Open(_home, client, user);
                }
                catch (Exception e) when (e is EndToEnd.E2eProtocolException or IOException or UnauthorizedAccessException)
                {
                    chat.KeysReady(null);
                    console.WriteError(ChatText.Error("Cannot open this device's end-to-end keys", e.Message));
                    return ExitCodes.Usage;
                }
                using (keys)
                {
                    chat.KeysReady(keys);
                    // Published before "Authenticated" is printed: whoever sees it can already be sent to.
                    string? problem;
                    try
                    {
                        problem = await keys.PublishOrReplenishAsync(client, cancellationToken);
                    }
                    catch (Exception e) when (e is ChatConnectionException or ChatException or ParleyProtocolException or IOException)
                    {
                        console.WriteError(ChatText.Error("Could not publish this device's end-to-end keys", e.Message));
                        return ExitCodes.ConnectionFailed;
                    }
                    console.WriteLine(authenticated!);
                    if (problem is not null)
                    {
                        console.WriteError(problem);
                    }
                    PrintBanner();
                    return await chat.RunAsync(client, cancellationToken);
                }
            }
        }

        /// <summary>Logs in; on success the "Authenticated" line is in <paramref name="announce"/>, printed once the device is ready to chat.</summary>
        private async Task<(int Code, string? Announce)> LoginAsync(ChatClient client, string user, string? password, CancellationToken cancellationToken)
        {
            try
            {
                LoginOutcome outcome = await _login.LoginAsync(client, user,
                    _ => ValueTask.FromResult(password ?? console.Ask("Password: ", secret: true)), cancellationToken);
                if (outcome.PasswordMissing)
                {
                    console.WriteError("[ERROR] A password is required.");
                    return (ExitCodes.AuthenticationFailed, null);
                }
                if (!outcome.Success)
                {
                    console.WriteError(ChatText.Error("Login failed", outcome.Result!.Error));
                    return (ExitCodes.AuthenticationFailed, null);
                }
                return (ExitCodes.Success, ChatText.Authenticated(outcome.Result!, outcome.ByToken));
            }
            catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
            {
                console.WriteError(ChatText.Error("Connection lost during login", e.Message));
                return (ExitCodes.ConnectionFailed, null);
            }
            catch (ChatException e)
            {
                console.WriteError(ChatText.Error("Login failed", e.Message));
                return (ExitCodes.AuthenticationFailed, null);
            }
        }

        /// <summary>The commands, for someone at a terminal; a script (stdin not a terminal) gets none, and `help` still shows them.</summary>
        private void PrintBanner()
        {
            if (console.InputIsTerminal && !console.Json)
            {
                console.WriteLine(Banner);
            }
        }

        private ValueTask<bool> AskToTrust(PeerIdentity identity, CancellationToken cancellationToken)
        {
            console.WriteLine("The authenticity of this server can't be established.");
            console.WriteLine($"{identity.Algorithm.Name} key fingerprint is {identity.Fingerprint}.");
            console.WriteLine("Compare it with the fingerprint the server printed at start-up.");
            string? answer = console.Ask("Are you sure you want to continue connecting (yes/no)? ");
            return ValueTask.FromResult(string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase));
        }

        private static string Default(string? answer, string fallback) => string.IsNullOrWhiteSpace(answer) ? fallback : answer.Trim();

    }
}
