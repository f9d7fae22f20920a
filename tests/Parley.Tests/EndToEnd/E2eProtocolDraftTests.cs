using Parley.Crypto.Kdf;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.Ratchet;
using Parley.Tests.Support;

namespace Parley.Tests.EndToEnd;

/// <summary>Numbers and labels PROTOCOL.md §13 states in prose, checked against the code.</summary>
public class E2eProtocolDraftTests
{
    private static readonly string Draft = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));

    [Fact]
    public void The_stated_limits_are_the_codes()
    {
        Assert.Contains($"**MaxSkip = {RatchetLimits.MaxSkip}**", Draft);
        Assert.Contains($"**MaxSkippedMessageKeys = {RatchetLimits.MaxSkippedMessageKeys}**", Draft);
        Assert.Contains($"remembers the last **{RatchetLimits.MaxRetiredReceivingChains}** finished", Draft);
        Assert.Contains($"at most {RatchetLimits.MaxPlaintextSize / 1024} KiB", Draft);
        Assert.Contains($"At most {PrekeyBundle.MaxEncodedSize} bytes.", Draft);
    }

    [Fact]
    public void The_stated_labels_are_the_codes()
    {
        foreach (ReadOnlySpan<byte> label in new[]
        {
            RatchetKdf.RootInfo.ToArray(), RatchetKdf.MessageKeyInfo.ToArray(), RatchetKdf.InitialRootKeyInfo.ToArray(),
            Parley.EndToEnd.Identity.SignedData.IdentityBindingLabel.ToArray(), Parley.EndToEnd.Identity.SignedData.SignedPrekeyLabel.ToArray(),
            Parley.EndToEnd.Identity.SignedData.KemPrekeyLabel.ToArray(), PqxdhKdf.ParleyPqxdhInfo.ToArray(),
        })
        {
            Assert.Contains($"`\"{System.Text.Encoding.ASCII.GetString(label)}\"", Draft);
        }
    }
}
