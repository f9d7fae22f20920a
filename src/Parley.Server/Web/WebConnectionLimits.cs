namespace Parley.Server.Web;

/// <summary>
/// Bounds on HTTP connections to the web port before they upgrade (WebConnectionGate): from one
/// source, in all, and the time a connection has to send its request.
/// </summary>
public sealed record WebConnectionLimits(int PerSource, int Total, TimeSpan FirstRequestTimeout);
