namespace Parley.Client.Files;

/// <summary>A received file's SHA-256 is not the one in its offer: the partial file was deleted.</summary>
public sealed class FileVerificationException(string message) : Exception(message);
