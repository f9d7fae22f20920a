using System.CommandLine;
using System.Net;
using Parley.Cli.CommandLine;
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Crypto.Signing;
using Parley.Messaging;
using Parley.Peer;
using Parley.Protocol.Handshake;
using Parley.Protocol.Text;
using Parley.Transport.Channels;

namespace Parley.Cli.Commands;

/// <summary><c>parley peer</c>: direct, mutually authenticated chat between two people, no server.</summary>
internal static class PeerCommand
{
    internal static Command Create()
    {
        Option<int?> listen = CommandLine.PortOption.Optional("--listen", "Port to listen on (0 for any free port)", allowZero: true, "-l");
        Option<string?> listenHost = new("--listen-host")
        {
            Description = $"Address to listen on (default {PeerOptions.DefaultListenAddress}: this machine only; 0.0.0.0 or :: to accept peers from the network)",
        };
        Option<string?> connect = new("--connect", "-c") { Description = "Peer to dial, host:port" };
        Option<string?> name = new("--name", "-n") { Description = "The name your peer will see (default: your login name)" };
        Option<bool> trustNew = new("--trust-new") { Description = "Trust and remember a peer key seen for the first time" };
        Option<string?> fingerprint = new("--fingerprint") { Description = "Trust the peer only if its key has this fingerprint (SHA256:...)" };
        Option<bool> verbose = new("--verbose") { Description = "Show the protocol error behind a failed connection" };
        Option<string?> homeOption = new("--home") { Description = "Folder for your identity key and known_peers (default: $PARLEY_HOME, else ~/.parley)" };
        Command command = new("peer", Help) { listen, listenHost, connect, name, trustNew, fingerprint, verbose, homeOption };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(listen), result.GetValue(listenHost), result.GetValue(connect), result.GetValue(name),
            result.GetValue(trustNew), result.GetValue(fingerprint), result.GetValue(verbose), result.GetValue(homeOption), cancellationToken));
        return command;
    }

    private const string Help = """
        Chat directly with another person, end to end, no server.

        Your identity key (made on first use; 'parley id' shows its fingerprint) and the peers you
        trust (known_peers) live in your Parley folder. To try two people on one machine, give each
        its own folder with --home (or PARLEY_HOME), or both would be the same identity:
          parley peer --home /tmp/alice --name alice --listen 5000
          parley peer --home /tmp/bob --name bob --connect localhost:5000
        Type 'exit' or press Ctrl-C to leave; the other side sees that you left.
        """;

    private static async Task<int> RunAsync(int? listenPort, string? listenHost, string? connect, string? nameOption, bool trustNew, string? fingerprint, bool verbose,
        string? homeFolder, CancellationToken cancellationToken)
    {
        ChatConsole console = new();
        ParleyHome home;
        try
        {
            home = string.IsNullOrEmpty(homeFolder) ? ParleyHome.Default() : new ParleyHome(homeFolder);
        }
        catch (ParleyHomeException e)
        {
            console.WriteError($"[!] {e.Message}");
            return ExitCodes.Usage;
        }
        if (listenPort is null && connect is null)
        {
            Questions questions = new(console);
            // An empty answer skips listening; anything else must be a port, asked again until it is.
            string? listenAnswer = console.Ask("Enter port to listen on: ");
            while (!string.IsNullOrWhiteSpace(listenAnswer) && !PortOption.TryParse(listenAnswer, allowZero: true, out _, out string error))
            {
                console.WriteError($"[!] {error}.");
                listenAnswer = console.Ask("Enter port to listen on (leave blank not to listen): ");
            }
            if (!string.IsNullOrWhiteSpace(listenAnswer))
            {
                PortOption.TryParse(listenAnswer, allowZero: true, out int parsed, out _);
                listenPort = parsed;
            }
            connect = console.Ask("Enter IP to connect to (leave blank to skip): ")?.Trim();
            if (!string.IsNullOrEmpty(connect) && !connect.Contains(':', StringComparison.Ordinal))
            {
                if (questions.Port("Enter port to connect to: ", fallback: null) is not int connectPort)
                {
                    console.WriteError("[!] No port to connect to given.");
                    return ExitCodes.Usage;
                }
                connect += $":{connectPort}";
            }
            if (string.IsNullOrEmpty(connect))
            {
                connect = null;
            }
        }
        if (listenPort is < 0 or > 65535)
        {
            console.WriteError("[!] The port must be a number from 0 to 65535.");
            return ExitCodes.Usage;
        }
        DnsEndPoint? target = null;
        if (connect is not null && !TryParseEndPoint(connect, out target))
        {
            console.WriteError($"[!] '{connect}' is not host:port.");
            return ExitCodes.Usage;
        }
        IPAddress listenAddress = PeerOptions.DefaultListenAddress;
        if (listenHost is not null && !TryParseListenHost(listenHost, out listenAddress))
        {
            console.WriteError($"[!] --listen-host '{UntrustedText.Sanitize(listenHost)}' is not an IP address (for example 127.0.0.1, 0.0.0.0, ::1 or ::).");
            return ExitCodes.Usage;
        }
        if (listenPort is null && target is null)
        {
            console.WriteError("[!] Nothing to do: give a port to listen on, a peer to connect to, or both.");
            return ExitCodes.Usage;
        }
        if (!Usernames.TryNormalize(nameOption ?? DefaultName(), out string name, out string nameError))
        {
            console.WriteError($"[!] Invalid --name: {nameError}");
            return ExitCodes.Usage;
        }

        using SigningKey identity = IdCommand.LoadOrCreate(home, out bool created);
        PeerTrust trust = new(new KnownPeersFile(home.KnownPeersPath))
        {
            TrustNew = trustNew,
            ExpectedFingerprint = fingerprint,
            Prompt = console.Interactive ? (peer, id, _) => ValueTask.FromResult(new TrustQuestion(new Questions(console)).AskAboutPeer(UntrustedText.Sanitize(peer), id)) : null,
            Added = (peer, id) => console.WriteLine("[*] " + TrustQuestion.Added(UntrustedText.Sanitize(peer), id, "known peers")),
        };
        console.WriteLine($"[*] {(created ? "Created your" : "Your")} identity: {identity.Algorithm.Name} {Fingerprint.Of(identity.Algorithm, identity.PublicKey)} (name: {name})");
        await using PeerNode node = new(new PeerOptions(identity, name, trust) { ListenPort = listenPort, Connect = target, ListenAddress = listenAddress })
        {
            Notice = text => console.WriteLine("[*] " + UntrustedText.Sanitize(text)),
            KeyChanged = changed =>
            {
                console.WriteError(changed.Message);
                console.WriteLine("[*] Still waiting for a peer. Press Ctrl+C to exit.");
            },
        };
        try
        {
            node.StartListening();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            console.WriteError($"[!] Cannot listen on {listenAddress} port {listenPort}: {e.Message}");
            return ExitCodes.Failure;
        }
        if (node.ListeningPort is int port)
        {
            console.WriteLine($"[*] Listening on port {port} at {listenAddress} ({DescribeReach(listenAddress)})");
        }
        if (target is not null)
        {
            console.WriteLine($"[*] Connecting to {target.Host}:{target.Port}...");
        }
        if (node.ListeningPort is not null)
        {
            console.WriteLine("[*] Waiting for a peer. Press Ctrl+C to exit.");
        }

        PeerSession session;
        try
        {
            session = await node.EstablishAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Success;
        }
        catch (PeerConnectException e) when (target is not null)
        {
            WriteConnectionError(console, e, target, verbose);
            return ExitCodes.ConnectionFailed;
        }
        catch (PeerConnectException e)
        {
            console.WriteError($"[!] {Capitalise(UntrustedText.Sanitize(e.Message))}");
            return ExitCodes.ConnectionFailed;
        }
        catch (PeerKeyMismatchException e)
        {
            console.WriteError(e.Message);
            return ExitCodes.HostKeyMismatch;
        }
        catch (PeerRefusedException e)
        {
            console.WriteError($"[!] Session refused: {UntrustedText.Sanitize(e.Message)}");
            return ExitCodes.HostKeyMismatch;
        }
        catch (PeerProtocolException e) when (target is not null && e.InnerException is not null)
        {
            // Only the dial can end the wait with an error (inbound failures are notices): say what answered there.
            WriteConnectionError(console, e, target, verbose);
            return e.InnerException is System.IO.IOException or Parley.Protocol.ParleyProtocolException ? ExitCodes.ConnectionFailed : ExitCodes.ProtocolError;
        }
        catch (PeerProtocolException e)
        {
            console.WriteError($"[!] {Capitalise(UntrustedText.Sanitize(e.Message))}");
            return ExitCodes.ProtocolError;
        }
        await using (session)
        {
            console.WriteLine($"[*] Secure session with {UntrustedText.Sanitize(session.PeerName)} ({session.PeerIdentity.Algorithm.Name} {session.PeerIdentity.Fingerprint}), {session.Group}, {session.Suite}");
            console.WriteLine("[*] Type a message and press Enter to send; 'exit' to leave.");
            return await ChatAsync(console, session, cancellationToken);
        }
    }

    private static async Task<int> ChatAsync(ChatConsole console, PeerSession session, CancellationToken cancellationToken)
    {
        using CancellationTokenSource done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string peerName = UntrustedText.Sanitize(session.PeerName);
        Task<int> receiving = Task.Run(async () =>
        {
            while (true)
            {
                PeerEvent incoming = await session.ReceiveAsync(done.Token);
                switch (incoming)
                {
                    case PeerTextReceived text:
                        console.WriteLine($"[{peerName}]: {UntrustedText.Sanitize(text.Text, maxLength: int.MaxValue)}");
                        break;
                    case PeerLeft left:
                        console.WriteLine(left.Reason is null ? $"[*] {peerName} left the chat." : $"[*] {peerName} ended the session: {UntrustedText.Sanitize(left.Reason)}");
                        done.Cancel();
                        return ExitCodes.Success;
                    case PeerLost lost:
                        console.WriteError($"[!] Connection to {peerName} lost: {UntrustedText.Sanitize(lost.Error.Message)}");
                        done.Cancel();
                        return ExitCodes.ConnectionFailed;
                }
            }
        }, CancellationToken.None);
        while (true)
        {
            string? line;
            try
            {
                line = await console.ReadCommandAsync(done.Token);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl-C: leave as 'exit' does, so the other side reads "alice left the chat".
                using (CancellationTokenSource farewell = new(Parley.Transport.TransportTimeouts.FarewellSend))
                {
                    try
                    {
                        await session.LeaveAsync(farewell.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // The peer stopped reading; we leave all the same.
                    }
                }
                await IgnoreCancellationAsync(receiving);
                console.WriteLine("[*] You left the chat.");
                return ExitCodes.Success;
            }
            catch (OperationCanceledException)
            {
                return await receiving;
            }
            if (line is null || line.Trim() is "exit" or "quit")
            {
                await session.LeaveAsync(CancellationToken.None);
                console.WriteLine("[*] You left the chat.");
                return ExitCodes.Success;
            }
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                await session.SendTextAsync(line, done.Token);
            }
            catch (Exception e) when (e is ChannelException or Parley.Protocol.ParleyProtocolException or OperationCanceledException or InvalidOperationException)
            {
                return await receiving;
            }
        }
    }

    private static async Task IgnoreCancellationAsync(Task<int> receiving)
    {
        try
        {
            await receiving;
        }
        catch (OperationCanceledException)
        {
            // The receive was cancelled by our own leaving.
        }
    }

    private static void WriteConnectionError(ChatConsole console, Exception e, DnsEndPoint target, bool verbose)
    {
        foreach (string line in ConnectionErrors.Lines(e, target.Host, target.Port, Parley.Transport.Diagnosis.Expected.Peer, verbose, "[!] "))
        {
            console.WriteError(line);
        }
    }

    private static bool TryParseEndPoint(string text, out DnsEndPoint? endPoint)
    {
        endPoint = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out int port) || port is < 1 or > 65535)
        {
            return false;
        }
        endPoint = new DnsEndPoint(text[..colon].Trim('[', ']'), port);
        return true;
    }

    private static bool TryParseListenHost(string text, out IPAddress address)
    {
        if (string.Equals(text, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }
        return IPAddress.TryParse(text.Trim('[', ']'), out address!);
    }

    private static string DescribeReach(IPAddress address) =>
        IPAddress.IsLoopback(address)
            ? "only this machine can connect; use --listen-host 0.0.0.0 to accept peers from the network"
            : address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
                ? "reachable from every network this machine is on"
                : "reachable at that address";

    private static string DefaultName() =>
        Usernames.TryNormalize(Environment.UserName, out string name, out _) ? name : "anonymous";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

}
