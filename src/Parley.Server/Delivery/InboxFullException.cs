namespace Parley.Server.Delivery;

/// <summary>The recipient's inbox is at its quota; the message was not stored.</summary>
public sealed class InboxFullException(string recipient)
    : Exception($"the inbox of '{recipient}' is full; the message was not stored");
