namespace Parley.Server.Hosting;

/// <summary>Completed handshakes since the server started: full ones (signed) and ones resumed from a session ticket (no signature).</summary>
public readonly record struct HandshakeCounts(long Full, long Resumed);
