using System.CommandLine;
using Parley.Cli.CommandLine;
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Client.Files;
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
          read <username>            - Mark their messages read (scripts; on a terminal what is shown is read)
          receipts on|off            - Send read receipts and see others' (saved for this account)
          send #<group> <message>    - Send a message to a group (end-to-end, sender keys)
          group create <name> <user>... - Create a group (you are its admin; who has not allowed you is invited)
          group add|remove <name> <user>... - Change a group's members (admins)
          group accept|decline <name> - Join a group you were invited to, or turn it down
          group allow|disallow <user> - Let a user add you to groups without asking, or stop
          group leave <name>         - Leave a group
          group members <name>       - List a group's members; 'group list' your groups and invitations
          devices                    - List your devices (logged-in clients)
          revoke <device id>         - Revoke a device: its token stops working
          sendfile <user|#group> <path> - Send a file (encrypted end to end, resumable)
          savefile <n> [path]        - Save file offer n (to the folder or file given)
          files                      - List the files offered to you
          help                       - Show this help
          quit | exit                - Disconnect and exit
        ================================
        """;

    internal static Command Create()
    {
        ChatConnectOptions connect = new();
        Option<bool> json = new("--json") { Description = "Print incoming messages and statuses as one JSON object per line (for bots)" };
        Option<bool> noReadReceipts = new("--no-read-receipts") { Description = "Send no read receipts in this run, and show no one else's (only 'delivered')" };
        Option<string?> downloadDirectory = new("--download-dir") { Description = "Save every file offered to you into this folder as it arrives (never over an existing file)" };
        Option<long?> fileRate = ByteRateOption.Optional("--file-rate", "Keep file uploads and downloads at or under this rate a second (e.g. 512K, 2MiB), so they leave room on a slow link");
        Command command = new("chat", "Connect to a Parley server and chat");
        connect.AddTo(command);
        command.Options.Add(json);
        command.Options.Add(noReadReceipts);
        command.Options.Add(downloadDirectory);
        command.Options.Add(fileRate);
        // On the thread pool: the questions before the chat block on a read that Ctrl-C cannot
        // interrupt, and on the main thread that would hold the process until the read returned.
        command.SetAction((result, cancellationToken) => Task.Run(() =>
            new Session(new ChatConsole { Json = result.GetValue(json) }).RunAsync(connect.Read(result) with
            {
                NoReadReceipts = result.GetValue(noReadReceipts),
                DownloadDirectory = result.GetValue(downloadDirectory) is { Length: > 0 } folder ? Path.GetFullPath(folder) : null,
                FileBytesPerSecond = result.GetValue(fileRate),
            }, cancellationToken), CancellationToken.None));
        return command;
    }

    internal sealed record Settings(string? User, string? Host, int? Port, string? PasswordFile, string? KnownHosts, bool TrustNew, string? Fingerprint)
    {
        /// <summary>--verbose: the protocol error behind a failed connection, beside the plain words.</summary>
        public bool Verbose { get; init; }

        /// <summary>--register: a name the server does not know is registered rather than refused.</summary>
        public bool Register { get; init; }

        /// <summary>--no-read-receipts: for this run only "delivered" receipts (PROTOCOL.md §13.11).</summary>
        public bool NoReadReceipts { get; init; }

        /// <summary>Further --host entries (other nodes of a cluster), tried in turn after <see cref="Host"/>.</summary>
        public IReadOnlyList<string> MoreHosts { get; init; } = [];

        /// <summary>--download-dir: offered files are saved there as they arrive (null: only by 'savefile').</summary>
        public string? DownloadDirectory { get; init; }

        /// <summary>--file-rate: file transfers keep to this many bytes a second (null: as fast as they go).</summary>
        public long? FileBytesPerSecond { get; init; }
    }

    internal sealed class Session(ChatConsole console)
    {
        private ParleyHome _home = null!;
        private ClientLogin _login = null!;
        private (string Host, int Port, bool Verbose) _server;
        private bool _register;

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
            string[] hostEntries = [settings.Host ?? Default(console.Ask("Server host (default: localhost): "), "localhost"), .. settings.MoreHosts];
            int? defaultPort = settings.Port;
            // --port is checked by its parser; a typed port is asked again until it is one. Not asked when every --host names its own.
            if (defaultPort is null && !hostEntries.All(ServerEndpoint.HasPort) &&
                (defaultPort = new Questions(console).Port("Server port (default: 5555): ", 5555)) is null)
            {
                console.WriteError("[ERROR] No server port given.");
                return ExitCodes.Usage;
            }
            List<ServerEndpoint> endpoints = [];
            foreach (string entry in hostEntries)
            {
                if (!ServerEndpoint.TryParse(entry, defaultPort, out ServerEndpoint endpoint, out string hostError))
                {
                    console.WriteError($"[ERROR] {UntrustedText.Sanitize(hostError, 200)}");
                    return ExitCodes.Usage;
                }
                endpoints.Add(endpoint);
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

            _register = settings.Register;
            ChatClient? client = null;
            int connected = 0;
            // Each node is tried in turn; trust is per host:port, as with one server.
            for (; client is null; connected++)
            {
                (string nodeHost, int nodePort) = endpoints[connected];
                _server = (nodeHost, nodePort, settings.Verbose);
                KnownHostsTrust trust = new(new KnownHostsFile(settings.KnownHosts ?? _home.KnownHostsPath), $"{nodeHost}:{nodePort}")
                {
                    TrustNew = settings.TrustNew,
                    ExpectedFingerprint = settings.Fingerprint,
                    Prompt = console.Interactive ? AskToTrust : null,
                    Added = identity => console.WriteLine(TrustQuestion.Added(UntrustedText.Sanitize($"{nodeHost}:{nodePort}"), identity, "known hosts")),
                };
                try
                {
                    client = await ChatClient.ConnectAsync(nodeHost, nodePort, new ClientChannelOptions(trust)
                    {
                        Tickets = new HomeTicketStore(_home, trust.File, nodeHost, nodePort) { HostPort = trust.HostPort },
                    }, cancellationToken);
                    break;
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
                catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
                {
                    WriteConnectionError(e, settings.Verbose);
                    if (connected + 1 == endpoints.Count)
                    {
                        return ExitCodes.ConnectionFailed;
                    }
                }
            }
            string host = _server.Host;
            int port = _server.Port;
            ChatLoop chat = new(console, _login, user, endpoints, connected,
                endpoint => new KnownHostsTrust(new KnownHostsFile(settings.KnownHosts ?? _home.KnownHostsPath), endpoint.ToString())
                {
                    TrustNew = settings.TrustNew,
                    ExpectedFingerprint = settings.Fingerprint,
                }, filePassword, Banner);
            await using (client)
            {
                console.WriteLine($"[CLIENT] Connected to server at {host}:{port}");
                console.WriteLine($"[CLIENT] Key exchange completed successfully ({client.Group}, {client.Suite})");
                if (client.Resumed)
                {
                    console.WriteLine("[CLIENT] Session resumed from a ticket (the server did not sign)");
                }
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
                catch (Exception e) when (e is EndToEnd.E2eProtocolException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
                {
                    chat.KeysReady(null);
                    console.WriteError(ChatText.Error("Cannot open this device's end-to-end keys", e.Message));
                    return ExitCodes.Usage;
                }
                using (keys)
                {
                    keys.ShownMeansRead = console.Interactive && !console.Json;
                    keys.ReadReceipts = !settings.NoReadReceipts && _home.ReadReceiptsOn(client.ServerIdentity.Fingerprint, user);
                    if (settings.DownloadDirectory is { } folder && !Directory.Exists(folder))
                    {
                        console.WriteError($"[ERROR] --download-dir: there is no folder {UntrustedText.Sanitize(folder, 200)}");
                        chat.KeysReady(null);
                        return ExitCodes.Usage;
                    }
                    using SealedFileRecords fileRecords = keys.OpenFileRecords();
                    ChatFiles files = new(console, user, fileRecords, _home.FileTransfersPath(client.ServerIdentity.Fingerprint, user), settings.DownloadDirectory, () => chat.Prompt)
                    {
                        Pacer = settings.FileBytesPerSecond is long rate ? new TransferPacer(rate) : null,
                    };
                    foreach (string line in files.Load())
                    {
                        console.WriteLine(line);
                    }
                    files.CurrentClient = () => chat.LiveClient;
                    keys.FileOffered = files.Offered;
                    chat.Files = files;
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
                ChatLoginQuestions questions = new(console, user, _register);
                LoginOutcome outcome = await _login.LoginAsync(client, user,
                    _ => ValueTask.FromResult(password ?? questions.Password()), questions.NewAccounts, cancellationToken);
                if (outcome.PasswordMissing)
                {
                    // Bad usage, not a wrong password: nothing was sent to the server.
                    console.WriteError("[ERROR] A password is required.");
                    return (ExitCodes.Usage, null);
                }
                if (outcome.NotRegistered)
                {
                    console.WriteError(questions.NotRegistered());
                    return (ExitCodes.NotRegistered, null);
                }
                if (!outcome.Success)
                {
                    console.WriteError(ChatText.Error("Login failed", outcome.Result!.Error));
                    return (ExitCodes.AuthenticationFailed, null);
                }
                return (ExitCodes.Success, ChatText.Authenticated(outcome.Result!, outcome.ByToken));
            }
            catch (ParleyProtocolException e) when (e.Unauthenticated)
            {
                // Refused before any record opened: most likely not a messenger server (a peer's port).
                WriteConnectionError(e, _server.Verbose);
                return (ExitCodes.ConnectionFailed, null);
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
            return ValueTask.FromResult(new TrustQuestion(new Questions(console)).AskAboutServer(identity));
        }

        private void WriteConnectionError(Exception e, bool verbose)
        {
            foreach (string line in ConnectionErrors.Lines(e, _server.Host, _server.Port, Parley.Transport.Diagnosis.Expected.Server, verbose, "[ERROR] "))
            {
                console.WriteError(line);
            }
        }

        private static string Default(string? answer, string fallback) => string.IsNullOrWhiteSpace(answer) ? fallback : answer.Trim();

    }
}
