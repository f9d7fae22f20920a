namespace Parley.Client.EndToEnd;

/// <summary>
/// What an end-to-end send did: the recipient's devices it was encrypted to (each copy committed
/// by the server before this returns), and whether at least one of them was online.
/// </summary>
public readonly record struct E2eSent(int RecipientDevices, bool Delivered);
