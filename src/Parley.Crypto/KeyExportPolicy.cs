namespace Parley.Crypto;

/// <summary>
/// Whether a private key may ever leave its object (NSec's KeyExportPolicies is the model). Chosen
/// once, when the key is generated or imported; the default is <see cref="None"/>, so only code
/// that stores keys on purpose (identity files, and later the client's prekeys) can read them out.
/// </summary>
public enum KeyExportPolicy
{
    /// <summary>ExportPrivateKey throws: for ephemeral keys and keys only loaded to be used.</summary>
    None = 0,

    /// <summary>ExportPrivateKey returns the private key's encoding, which the caller must wipe.</summary>
    AllowExport = 1,
}

internal static class KeyExportPolicyChecks
{
    internal static void Validate(KeyExportPolicy policy)
    {
        if (policy is not (KeyExportPolicy.None or KeyExportPolicy.AllowExport))
        {
            throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown key export policy.");
        }
    }

    internal static void ThrowIfNotExportable(KeyExportPolicy policy, string keyDescription)
    {
        if (policy != KeyExportPolicy.AllowExport)
        {
            throw new InvalidOperationException(
                $"This {keyDescription} was created without {nameof(KeyExportPolicy)}.{nameof(KeyExportPolicy.AllowExport)}; its private key cannot be exported.");
        }
    }
}
