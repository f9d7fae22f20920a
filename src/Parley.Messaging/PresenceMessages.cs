// Join and leave notices (PROTOCOL.md §11.6): a client names the users it wants to hear about
// (its contacts), and the server tells it when one of them comes online (a first device logs in)
// or goes offline (the last one leaves). Nothing here is more than `list` already shows anyone
// logged in; naming the users keeps the cost at what each client asked for, not users squared.
namespace Parley.Messaging;

/// <summary>Replaces the set of users this connection hears about (at most <see cref="MessengerLimits.MaxWatchedUsers"/>; empty: none).</summary>
public sealed record WatchPresenceRequest(long Ref, string[] Users) : ClientMessage;

/// <summary>Which of the watched users are online now, sorted; changes follow as <see cref="PresenceChanged"/>.</summary>
public sealed record PresenceWatched(long Ref, string[] Online) : ServerMessage;

/// <summary>A watched user came online (<paramref name="Online"/>) or went offline. Best effort: a full outbox drops it.</summary>
public sealed record PresenceChanged(string User, bool Online) : ServerMessage;
