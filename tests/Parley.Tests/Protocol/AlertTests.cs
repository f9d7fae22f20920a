using Parley.Protocol;
using Parley.Protocol.Handshake;

namespace Parley.Tests.Protocol;

/// <summary>PROTOCOL.md §5.6: what a peer's alert reason may carry to our terminal and logs.</summary>
public class AlertTests
{
    /// <summary>
    /// The reason goes through the one sanitiser: controls become '?', bidi overrides and zero-width
    /// characters are removed (found by review: only controls were replaced, so a reason could
    /// reorder or hide what followed it on the screen).
    /// </summary>
    [Fact]
    public void A_reason_is_shown_without_controls_bidi_overrides_or_zero_width_characters()
    {
        byte[] payload = new Alert(ProtocolError.UnexpectedMessage, "ok\u202Egnp.exe\u200B\u001b[2J done").EncodePayload();
        Alert alert = Alert.DecodePayload(payload);
        Assert.Equal("okgnp.exe?[2J done", alert.Reason);
        ParleyProtocolException reported = alert.ToException();
        Assert.Equal((ProtocolError.UnexpectedMessage, "okgnp.exe?[2J done", true), (reported.Error, reported.Detail, reported.IsRemote));
    }

    [Fact]
    public void A_reason_of_the_largest_length_comes_back_whole()
    {
        string reason = new('é', Alert.MaxReasonBytes / 2);
        Assert.Equal(reason, Alert.DecodePayload(new Alert(ProtocolError.Malformed, reason).EncodePayload()).Reason);
    }
}
