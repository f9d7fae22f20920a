// The chat once logged in: reads commands and runs them, and when the server connection is lost
// it reconnects (back-off with jitter), logs in again by device token, reuses the same end-to-end
// keys with the new client, and sends what was typed in the meantime. Ctrl-C ends it at once,
// wherever it is. In a script (stdin not a terminal) a command that failed makes the exit status 1.
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Protocol.Text;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Cli.Commands;

internal sealed class ChatLoop
{
    /// <summary>Exit status of a chat ended by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>How long a goodbye (pending acknowledgements, close_notify) may hold up an exit.</summary>
    private static readonly TimeSpan s_closeGrace = TimeSpan.FromMilliseconds(500);

    internal static readonly string[] Commands = ["send", "sendfile", "savefile", "files", "verify", "trust", "list", "broadcast", "group", "read", "receipts", "devices", "revoke", "help", "quit", "exit"];

    /// <summary>How long quitting waits for the receipts still owed (they are best effort).</summary>
    private static readonly TimeSpan s_receiptGrace = TimeSpan.FromSeconds(2);

    private readonly ChatConsole _console;
    private readonly ClientLogin _login;
    private readonly string _user;
    private readonly IReadOnlyList<ServerEndpoint> _endpoints;
    private int _current;
    private readonly Func<ServerEndpoint, KnownHostsTrust> _reconnectTrust;
    private readonly string? _password;
    private readonly string _banner;
    private readonly TaskCompletionSource<ChatEndToEnd?> _keys = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OfflineQueue _offline = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Random _jitter = new();
    private ChatClient? _client;
    private string? _deviceId;
    private string? _endingNotice;
    private bool _commandFailed;

    /// <param name="endpoints">The --host entries (the nodes of a cluster); <paramref name="connected"/> is the one connected to now.</param>
    /// <param name="reconnectTrust">The server-key check for a reconnection to a node: its pinned key, and no question (the line editor owns the terminal then).</param>
    /// <param name="password">From --password-file or PARLEY_PASSWORD: used again only if the device token is refused.</param>
    public ChatLoop(ChatConsole console, ClientLogin login, string user, IReadOnlyList<ServerEndpoint> endpoints, int connected,
        Func<ServerEndpoint, KnownHostsTrust> reconnectTrust, string? password, string banner)
    {
        _console = console;
        _login = login;
        _user = user;
        _endpoints = endpoints;
        _current = connected;
        _reconnectTrust = reconnectTrust;
        _password = password;
        _banner = banner;
    }

    /// <summary>Files sent and offered (sendfile, savefile); null on a server without end-to-end keys.</summary>
    public ChatFiles? Files { get; set; }

    /// <summary>The prompt as it is when no transfer shows its progress in it.</summary>
    public string Prompt => _client is null ? $"{_user}@{_host} (offline)> " : $"{_user}@{_host}> ";

    /// <summary>Sets the end-to-end keys (null: none) that incoming messages wait for; call once, after the first login.</summary>
    public void KeysReady(ChatEndToEnd? keys) => _keys.TrySetResult(keys);

    /// <summary>The connection in use now, from its login on (offers that arrive with the inbox are saved on it); null between connections.</summary>
    public ChatClient? LiveClient => _attached is { Completion.IsCompleted: false } client ? client : null;

    private volatile ChatClient? _attached;

    /// <summary>Gives <paramref name="client"/> the chat's handlers; before its login, since the inbox comes right after it.</summary>
    public void Attach(ChatClient client)
    {
        _attached = client;
        client.MessageHandler = async message =>
        {
            ChatEndToEnd? keys = await _keys.Task;
            RememberNames([message.From]);
            AddContact(message.From);
            ChatText.TakeLastShown();
            Parley.Client.EndToEnd.ReceiptShown? receipt = null;
            string? line = keys is null ? ChatText.Message(message) : keys.Show(message, client.DeviceId, out receipt);
            if (line is not null)
            {
                _console.WriteMessage(line, ChatText.TakeLastShown(), endToEnd: message.ContentType == Parley.Client.EndToEnd.E2eDevice.ContentType);
            }
            if (receipt is not null)
            {
                _console.WriteLineOrJson(ChatText.Receipt(receipt), JsonLines.Receipt(receipt));
            }
        };
        client.PresenceHandler = change => _console.WriteLine(ChatText.Presence(change));
        client.NoticeHandler = notice =>
        {
            // After these the server will not have this device back: reconnecting would not help.
            if (notice.Code is ErrorCodes.LoggedInElsewhere or ErrorCodes.DeviceRevoked)
            {
                _endingNotice = notice.Code;
            }
            _console.WriteLine(ChatText.Notice(notice));
        };
    }

    public async Task<int> RunAsync(ChatClient client, CancellationToken cancellationToken)
    {
        ChatEndToEnd? keys = await _keys.Task;
        _client = client;
        _deviceId = client.DeviceId;
        lock (_contacts)
        {
            _contacts.UnionWith((keys?.KnownUsers() ?? []).Take(MessengerLimits.MaxWatchedUsers));
        }
        await WatchContactsAsync(client, announce: true, cancellationToken);
        StartReceipts(keys, client);
        await LearnGroupsAsync(keys, client, cancellationToken);
        SetPrompt(online: true);
        _console.StartInput(new InputHistory(_login.Home.ChatHistoryPath(client.ServerIdentity.Fingerprint, _user)),
            new TabCompleter(Commands, KnownNames));
        using CancellationTokenSource done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _console.Interrupted);
        Task<(ChatClient? Client, int Code)>? reconnecting = null;
        try
        {
            await ResumeFilesAsync(keys, done.Token);
            while (true)
            {
                if (_client is not null && _client.Completion.IsCompleted)
                {
                    (string reason, int? fatal) = ConnectionLost();
                    if (fatal is int code)
                    {
                        return code;
                    }
                    reconnecting = ReconnectAsync(keys, reason, done.Token);
                }
                if (_client is null && reconnecting is { IsCompleted: true })
                {
                    (ChatClient? fresh, int code) = await reconnecting;
                    reconnecting = null;
                    if (fresh is null)
                    {
                        return code;
                    }
                    _client = fresh;
                    StartReceipts(keys, fresh);
                    await LearnGroupsAsync(keys, fresh, done.Token);
                    SetPrompt(online: true);
                    await ResumeFilesAsync(keys, done.Token);
                    int? ended = await SendQueuedAsync(keys, done.Token);
                    if (ended is int endedCode)
                    {
                        return endedCode;
                    }
                    continue;
                }
                Task connection = _client?.Completion ?? reconnecting!;
                await Task.WhenAny(_console.WaitToReadAsync(done.Token), connection);
                if (done.IsCancellationRequested)
                {
                    return await InterruptedAsync();
                }
                if (!_console.TryRead(out ChatInput input))
                {
                    continue;
                }
                switch (input.Kind)
                {
                    case ChatInputKind.Interrupt:
                        return await InterruptedAsync();
                    case ChatInputKind.EndOfInput:
                        return await EndOfInputAsync(keys);
                }
                int? exit = await RunLineAsync(keys, input.Line!, done.Token);
                if (exit is int exitCode)
                {
                    return exitCode;
                }
            }
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested)
        {
            return await InterruptedAsync();
        }
        finally
        {
            _console.StopInput();
            if (_client is not null && !ReferenceEquals(_client, client))
            {
                await _client.DisposeAsync();
            }
        }
    }

    private readonly HashSet<string> _contacts = new(StringComparer.Ordinal);

    /// <summary>Receipts owed go out on their own loop for as long as this connection lasts.</summary>
    private static void StartReceipts(ChatEndToEnd? keys, ChatClient client)
    {
        if (keys is not null)
        {
            _ = keys.SendReceiptsAsync(client);
        }
    }

    /// <summary>
    /// At each login: the groups this device does not know yet are learned (rows of theirs that came
    /// before this answer were reported as a group this device does not know).
    /// </summary>
    private async Task LearnGroupsAsync(ChatEndToEnd? keys, ChatClient client, CancellationToken cancellationToken)
    {
        if (keys is not null && await keys.Groups.LearnAtLoginAsync(client, cancellationToken) is { } learned)
        {
            _console.WriteLine(learned);
        }
    }

    /// <summary>Before leaving: the receipts still owed get a moment to go.</summary>
    private static async Task FlushReceiptsAsync(ChatEndToEnd? keys, ChatClient client)
    {
        if (keys is null || client.Completion.IsCompleted)
        {
            return;
        }
        using CancellationTokenSource grace = new(s_receiptGrace);
        await keys.FlushReceiptsAsync(client, grace.Token);
    }

    /// <summary>Uploads from the journal and downloads already begun go on (after a start or a reconnection).</summary>
    private async Task ResumeFilesAsync(ChatEndToEnd? keys, CancellationToken cancellationToken)
    {
        if (Files is null || keys is null || _client is not { } client)
        {
            return;
        }
        Files.ResumeDownloads();
        try
        {
            foreach (string line in await Files.ResumeUploadsAsync(client, keys, cancellationToken))
            {
                Report(line);
            }
        }
        catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
        {
            _console.WriteLine("[CLIENT] The connection was lost while sending a file; it goes on after reconnecting");
        }
    }

    /// <summary>Someone wrote to us or we wrote to them: from now on their joins and leaves are shown.</summary>
    private void AddContact(string user)
    {
        bool added;
        lock (_contacts)
        {
            added = user != _user && _contacts.Count < MessengerLimits.MaxWatchedUsers && _contacts.Add(user);
        }
        if (added && _client is { } client)
        {
            _ = WatchContactsAsync(client, announce: false, CancellationToken.None);
        }
    }

    /// <summary>Asks the server for join/leave notices of the contacts; a server without them is simply not asked again.</summary>
    private async Task WatchContactsAsync(ChatClient client, bool announce, CancellationToken cancellationToken)
    {
        string[] contacts;
        lock (_contacts)
        {
            contacts = [.. _contacts];
        }
        if (contacts.Length == 0 || _presenceUnsupported)
        {
            return;
        }
        try
        {
            string[] online = await client.WatchPresenceAsync(contacts, cancellationToken);
            if (announce && online.Length > 0)
            {
                _console.WriteLine($"[STATUS] Contacts online: {string.Join(", ", online.Select(u => UntrustedText.Sanitize(u)))}");
            }
        }
        catch (ChatException e) when (e.Code == ErrorCodes.BadRequest)
        {
            _presenceUnsupported = true;
        }
        catch (Exception e) when (e is ChatException or ChatConnectionException or ParleyProtocolException or IOException or OperationCanceledException)
        {
            // Notices are a comfort, not a duty: a failed watch changes nothing else.
        }
    }

    private bool _presenceUnsupported;

    /// <summary>Names offered for completion at most: whoever writes to us, and every name a `list` shows, would otherwise add for ever.</summary>
    private const int MaxCompletionNames = 4096;

    /// <summary>Names for completion, as the server sent them: only canonical ones (never a control character on the line), within the bound.</summary>
    private void RememberNames(IEnumerable<string> names)
    {
        lock (_names)
        {
            foreach (string name in names)
            {
                if (_names.Count >= MaxCompletionNames)
                {
                    return;
                }
                if (Usernames.IsCanonical(name))
                {
                    _names.Add(name);
                }
            }
        }
    }

    private IEnumerable<string> KnownNames()
    {
        IEnumerable<string> groups = _keys.Task.IsCompletedSuccessfully && _keys.Task.Result is { } keys ? keys.Groups.CompletionNames() : [];
        lock (_names)
        {
            return [.. _names, .. groups];
        }
    }

    private string _host => _endpoints[_current].Host;

    private int _port => _endpoints[_current].Port;

    private void SetPrompt(bool online) => _console.SetPrompt(online ? $"{_user}@{_host}> " : $"{_user}@{_host} (offline)> ");

    /// <summary>Runs one typed line; an exit code when it ends the chat.</summary>
    private async Task<int?> RunLineAsync(ChatEndToEnd? keys, string line, CancellationToken cancellationToken)
    {
        string[] parts = line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return null;
        }
        string verb = parts[0].ToLowerInvariant();
        if (verb is "quit" or "exit")
        {
            if (_client is not null)
            {
                await FlushReceiptsAsync(keys, _client);
                await CloseQuietlyAsync(_client);
            }
            _console.StopInput();
            _console.WriteLine("[CLIENT] Disconnected");
            return Finished(ExitCodes.Success);
        }
        if (_client is null || _client.Completion.IsCompleted)
        {
            Offline(verb, line);
            return null;
        }
        try
        {
            await ExecuteAsync(_client, keys, verb, parts.Length > 1 ? parts[1] : "", cancellationToken);
        }
        catch (ChatException e)
        {
            Fail(ChatText.Error(e.Message));
        }
        catch (MessageTooLargeException e)
        {
            Fail(ChatText.TooLarge(e));
        }
        catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
        {
            // Sent, maybe; answered, no. Sending it again could deliver it twice, so say so instead.
            Fail(verb is "send" or "broadcast"
                ? "[ERROR] The connection was lost while sending; the message may not have arrived"
                : $"[ERROR] The connection was lost during '{verb}'");
        }
        return null;
    }

    /// <summary>A line typed while there is no connection: a message waits for it, anything else is refused.</summary>
    private void Offline(string verb, string line)
    {
        if (verb == "help")
        {
            _console.WriteLine(_banner);
        }
        else if (verb is not ("send" or "broadcast"))
        {
            Fail($"[ERROR] Not connected (reconnecting): '{UntrustedText.Sanitize(verb)}' needs the server");
        }
        else if (_offline.TryAdd(line))
        {
            _console.WriteLine($"[CLIENT] Not connected: the message waits and is sent after reconnecting ({_offline.Count} waiting)");
        }
        else
        {
            Fail($"[ERROR] Not connected, and {_offline.Count} messages already wait: this one was not kept");
        }
    }

    private async Task<int?> SendQueuedAsync(ChatEndToEnd? keys, CancellationToken cancellationToken)
    {
        while (_client is not null && _offline.TryTake(out string line))
        {
            int? exit = await RunLineAsync(keys, line, cancellationToken);
            if (exit is not null)
            {
                return exit;
            }
        }
        return null;
    }

    /// <summary>The connection ended: null to reconnect, or the exit code when that would not help.</summary>
    private (string Reason, int? Fatal) ConnectionLost()
    {
        ChatClient lost = _client!;
        _client = null;
        string reason = lost.Completion.Exception?.InnerException?.Message ?? "the server closed the connection";
        _ = lost.DisposeAsync().AsTask();
        if (_endingNotice is not null)
        {
            _console.StopInput();
            _console.WriteError(ChatText.Error("Disconnected", reason));
            return (reason, ExitCodes.ConnectionFailed);
        }
        SetPrompt(online: false);
        return (reason, null);
    }

    /// <summary>Tries again and again (Ctrl-C still ends it at once); the logged-in client, or null and the exit code of a failure retrying cannot mend.</summary>
    private async Task<(ChatClient? Client, int Code)> ReconnectAsync(ChatEndToEnd? keys, string reason, CancellationToken cancellationToken)
    {
        string lead = $"Connection lost ({UntrustedText.Sanitize(reason)})";
        for (int attempt = 0; ; attempt++)
        {
            TimeSpan delay = ReconnectBackoff.Delay(attempt, _jitter);
            _console.WriteLine($"[CLIENT] {lead}, reconnecting in {Math.Max(1, (int)Math.Round(delay.TotalSeconds))} s…");
            await Task.Delay(delay, cancellationToken);
            ChatClient client;
            try
            {
                client = await ConnectToSomeNodeAsync(cancellationToken);
            }
            catch (HostKeyMismatchException e)
            {
                _console.WriteError(e.Message);
                return (null, ExitCodes.HostKeyMismatch);
            }
            catch (ParleyProtocolException e) when (e.Error == ProtocolError.UntrustedPeer)
            {
                _console.WriteError(ChatText.Error("Not connected", e.Detail));
                return (null, ExitCodes.HostKeyMismatch);
            }
            catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
            {
                lead = $"Still not connected ({UntrustedText.Sanitize(e.Message)})";
                continue;
            }
            (ChatClient? ready, int? fatal) = await LoginAgainAsync(client, keys, cancellationToken);
            lead = "Still not logged in";
            if (ready is not null)
            {
                return (ready, ExitCodes.Success);
            }
            await client.DisposeAsync();
            if (fatal is int code)
            {
                return (null, code);
            }
        }
    }

    /// <summary>
    /// Each --host entry in turn, starting with the one after the node that was lost (with one
    /// entry: that one again); the first that answers, or the last failure.
    /// </summary>
    private async Task<ChatClient> ConnectToSomeNodeAsync(CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (int tried = 0; tried < _endpoints.Count; tried++)
        {
            int next = (_current + 1 + tried) % _endpoints.Count;
            try
            {
                KnownHostsTrust trust = _reconnectTrust(_endpoints[next]);
                ChatClient client = await ChatClient.ConnectAsync(_endpoints[next].Host, _endpoints[next].Port, new ClientChannelOptions(trust)
                {
                    Tickets = new HomeTicketStore(_login.Home, trust.File, _endpoints[next].Host, _endpoints[next].Port) { HostPort = trust.HostPort },
                }, cancellationToken);
                _current = next;
                return client;
            }
            catch (Exception e) when (e is ChatConnectionException or IOException || e is ParleyProtocolException { Error: not ProtocolError.UntrustedPeer })
            {
                last = e;
            }
        }
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(last!);
        throw last!;
    }

    private async Task<(ChatClient? Client, int? Fatal)> LoginAgainAsync(ChatClient client, ChatEndToEnd? keys, CancellationToken cancellationToken)
    {
        _endingNotice = null;
        Attach(client);
        try
        {
            LoginOutcome outcome = await _login.LoginAsync(client, _user, _ => ValueTask.FromResult(_password), cancellationToken);
            if (outcome.PasswordMissing)
            {
                _console.WriteError("[ERROR] Cannot log in again: this device's token was refused and there is no password to use (run parley chat again)");
                return (null, ExitCodes.AuthenticationFailed);
            }
            if (!outcome.Success)
            {
                if (outcome.Result!.Code is ErrorCodes.RateLimited)
                {
                    _console.WriteLine(ChatText.Error("Login refused for now", outcome.Result.Error));
                    return (null, null);
                }
                _console.WriteError(ChatText.Error("Login failed", outcome.Result.Error));
                return (null, ExitCodes.AuthenticationFailed);
            }
            if (client.DeviceId != _deviceId)
            {
                // Logged in as another device: this device's end-to-end keys are not that one's.
                _console.WriteError("[ERROR] Logged in again as a new device; run parley chat again to use it");
                return (null, ExitCodes.AuthenticationFailed);
            }
            if (keys is not null)
            {
                string? problem = await keys.PublishOrReplenishAsync(client, cancellationToken);
                if (problem is not null)
                {
                    _console.WriteError(problem);
                }
            }
            await WatchContactsAsync(client, announce: true, cancellationToken);
        }
        catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
        {
            _console.WriteLine($"[CLIENT] The connection was lost again during login ({UntrustedText.Sanitize(e.Message)})");
            return (null, null);
        }
        catch (ChatException e) when (e.Code == ErrorCodes.StorageUnavailable)
        {
            // The node is up but cannot reach its database: nothing was decided; try again later, here or elsewhere.
            _console.WriteLine(ChatText.Error("Login refused for now", e.Message));
            return (null, null);
        }
        catch (ChatException e)
        {
            _console.WriteError(ChatText.Error("Login failed", e.Message));
            return (null, ExitCodes.AuthenticationFailed);
        }
        _console.WriteLine($"[CLIENT] Reconnected to {_host}:{_port} as {_user}" +
            (_offline.Count > 0 ? $"; sending {_offline.Count} waiting message{(_offline.Count == 1 ? "" : "s")}" : ""));
        return (client, null);
    }

    private async Task<int> InterruptedAsync()
    {
        // At once: the prompt goes, a half-typed line is left with a newline after it, and the
        // goodbye to the server gets a moment, not more.
        _console.StopInput();
        if (_client is not null)
        {
            await CloseQuietlyAsync(_client);
        }
        return InterruptedExitCode;
    }

    private async Task<int> EndOfInputAsync(ChatEndToEnd? keys)
    {
        _console.StopInput();
        if (_client is null || _client.Completion.IsCompleted)
        {
            _console.WriteError(_offline.Count > 0
                ? $"[ERROR] Disconnected: {_offline.Count} waiting message{(_offline.Count == 1 ? " was" : "s were")} not sent"
                : "[ERROR] Disconnected: the connection to the server was lost");
            return ExitCodes.ConnectionFailed;
        }
        await FlushReceiptsAsync(keys, _client);
        await _client.CloseAsync();
        return Finished(ExitCodes.Success);
    }

    /// <summary>A script learns from the exit status that one of its commands failed.</summary>
    private int Finished(int code) => code == ExitCodes.Success && _commandFailed && !_console.InputIsTerminal ? ExitCodes.Failure : code;

    private static async Task CloseQuietlyAsync(ChatClient client)
    {
        try
        {
            await client.CloseAsync().WaitAsync(s_closeGrace);
        }
        catch (Exception e) when (e is TimeoutException or ChatConnectionException or IOException or ParleyProtocolException)
        {
        }
    }

    private void Fail(string error)
    {
        _commandFailed = true;
        _console.WriteError(error);
    }

    /// <summary>Prints a result line; one that reports an error counts as a failed command.</summary>
    private void Report(string line)
    {
        if (line.StartsWith("[ERROR]", StringComparison.Ordinal) || line.Contains("WARNING:", StringComparison.Ordinal))
        {
            Fail(line);
        }
        else
        {
            _console.WriteLine(line);
        }
    }

    /// <summary>'receipts on|off': whether read receipts are sent (and others' shown), saved for this account.</summary>
    private string SetReadReceipts(ChatClient client, ChatEndToEnd? keys, string setting)
    {
        if (keys is null)
        {
            return "[ERROR] No end-to-end encryption on this server";
        }
        if (setting.Length == 0)
        {
            return $"[STATUS] Read receipts are {(keys.ReadReceipts ? "on" : "off")}";
        }
        if (setting is not ("on" or "off"))
        {
            return "[ERROR] Usage: receipts on|off";
        }
        keys.ReadReceipts = setting == "on";
        _login.Home.WriteReadReceipts(client.ServerIdentity.Fingerprint, _user, keys.ReadReceipts);
        return keys.ReadReceipts
            ? "[STATUS] Read receipts on: contacts see when you read their messages, and you see when they read yours"
            : "[STATUS] Read receipts off: contacts see only that your device received their messages, and you no longer see when they read yours";
    }

    private async Task ExecuteAsync(ChatClient client, ChatEndToEnd? keys, string verb, string rest, CancellationToken cancellationToken)
    {
        switch (verb)
        {
            case "send":
                string[] args = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                if (args.Length < 2)
                {
                    Fail("[ERROR] Usage: send <username> <message>");
                    return;
                }
                if (keys is null)
                {
                    Fail("[ERROR] This server does not support end-to-end encryption; nothing was sent.");
                    return;
                }
                if (args[0].StartsWith('#'))
                {
                    Report(await keys.Groups.SendAsync(client, args[0], args[1], cancellationToken));
                    return;
                }
                string sent = await keys.SendAsync(client, args[0], args[1], cancellationToken);
                Report(sent);
                if (sent.StartsWith("[STATUS]", StringComparison.Ordinal) && Usernames.TryNormalize(args[0], out string recipient, out _))
                {
                    AddContact(recipient);
                }
                break;
            case "verify":
                Report(rest.Length == 0 ? "[ERROR] Usage: verify <username>" : keys?.Verify(rest.Trim()) ?? "[ERROR] No end-to-end encryption on this server");
                break;
            case "trust":
                Report(rest.Length == 0 ? "[ERROR] Usage: trust <username>"
                    : keys is null ? "[ERROR] No end-to-end encryption on this server" : await keys.TrustAsync(client, rest.Trim(), cancellationToken));
                break;
            case "list":
                string[] users = await client.ListAsync(cancellationToken);
                RememberNames(users);
                _console.WriteLine(ChatText.OnlineUsers(users));
                break;
            case "broadcast":
                if (rest.Length == 0)
                {
                    Fail("[ERROR] Usage: broadcast <message>");
                    return;
                }
                if (keys is null)
                {
                    Fail("[ERROR] This server does not support end-to-end encryption; nothing was sent.");
                    return;
                }
                Report(await keys.BroadcastAsync(client, rest, cancellationToken));
                break;
            case "read":
                Report(rest.Length == 0 ? "[ERROR] Usage: read <username>" : keys?.MarkRead(rest.Trim()) ?? "[ERROR] No end-to-end encryption on this server");
                break;
            case "receipts":
                Report(SetReadReceipts(client, keys, rest.Trim().ToLowerInvariant()));
                break;
            case "group":
                if (keys is null)
                {
                    Fail("[ERROR] This server does not support end-to-end encryption; groups need it.");
                    return;
                }
                Report(await keys.Groups.RunAsync(client, rest, cancellationToken));
                break;
            case "sendfile":
                string[] fileArgs = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                if (fileArgs.Length < 2)
                {
                    Fail("[ERROR] Usage: sendfile <username|#group> <path>");
                    return;
                }
                if (keys is null || Files is null)
                {
                    Fail("[ERROR] This server does not support end-to-end encryption; no file was sent.");
                    return;
                }
                Report(await Files.SendAsync(client, keys, fileArgs[0], fileArgs[1].Trim(), cancellationToken));
                break;
            case "savefile":
                string[] saveArgs = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                if (saveArgs.Length < 1 || !int.TryParse(saveArgs[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number))
                {
                    Fail("[ERROR] Usage: savefile <n> [path]  ('files' lists the offers)");
                    return;
                }
                Report(Files is null ? "[ERROR] No files on this server" : await Files.SaveAsync(client, number, saveArgs.Length > 1 ? saveArgs[1].Trim() : null, cancellationToken));
                break;
            case "files":
                Report(Files?.List() ?? "[FILE] No files offered");
                break;
            case "devices":
                _commandFailed |= !await DevicesCommand.ListAsync(_console, client, cancellationToken);
                break;
            case "revoke":
                _commandFailed |= !await DevicesCommand.RevokeAsync(_console, client, rest.Trim(), cancellationToken);
                break;
            case "help":
                _console.WriteLine(_banner);
                break;
            default:
                Fail($"[ERROR] Unknown command '{UntrustedText.Sanitize(verb)}'. Type 'help' for the commands.");
                break;
        }
    }
}
