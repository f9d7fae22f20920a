using System.Net;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>The small limiters behind issue 8.1, driven by a clock that moves only when told.</summary>
public class LogRateLimiterTests
{
    private static int Count(string log, string text) => log.Split('\n').Count(line => line.Contains(text, StringComparison.Ordinal));

    [Fact]
    public void Each_kind_gets_its_quota_and_a_summary_when_the_second_ends()
    {
        ManualClock time = new();
        RecordingLoggerFactory loggers = new();
        LogRateLimiter limiter = new(loggers.CreateLogger("test"), time, linesPerSecond: 3);
        for (int i = 0; i < 1000; i++)
        {
            limiter.Write(LogKind.RefusedConnection, l => l.LogWarning("refused {Number}", i));
            limiter.Write(LogKind.HandshakeFailed, l => l.LogInformation("handshake {Number}", i));
        }
        Assert.Equal(3, Count(loggers.All(), "refused"));
        Assert.Equal(3, Count(loggers.All(), "handshake"));

        limiter.Flush();
        Assert.DoesNotContain("Suppressed", loggers.All());

        // With no new line after the flood, the periodic flush still reports it, once.
        time.Now += TimeSpan.FromSeconds(1);
        limiter.Flush();
        limiter.Flush();
        Assert.Equal(1, Count(loggers.All(), "Warning: Suppressed 997 similar lines (refused connection)"));
        Assert.Equal(1, Count(loggers.All(), "Information: Suppressed 997 similar lines (failed handshake)"));
    }

    [Fact]
    public void One_IPv6_64_shares_one_bucket_and_the_bucket_refills()
    {
        ManualClock time = new();
        ConnectionAdmission admission = new(new ServerOptions { Time = time, HandshakesPerSecondPerSource = 2, HandshakeBurstPerSource = 2 });
        string first = AddressBlock.Of(IPAddress.Parse("2001:db8:1:2::1"));
        string rotated = AddressBlock.Of(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"));

        Assert.Equal(AdmissionDecision.Admitted, admission.TryAdmit(first));
        Assert.Equal(AdmissionDecision.Admitted, admission.TryAdmit(rotated));
        Assert.Equal(AdmissionDecision.HandshakeRateExceeded, admission.TryAdmit(rotated));
        Assert.Equal(AdmissionDecision.Admitted, admission.TryAdmit(AddressBlock.Of(IPAddress.Parse("2001:db8:1:3::1"))));

        time.Now += TimeSpan.FromSeconds(0.5);
        Assert.Equal(AdmissionDecision.Admitted, admission.TryAdmit(first));
        Assert.Equal(AdmissionDecision.HandshakeRateExceeded, admission.TryAdmit(first));
        Assert.Equal(4, admission.Unauthenticated);

        admission.Authenticated(first);
        admission.Release(first, authenticated: true);
        admission.Release(rotated, authenticated: false);
        Assert.Equal(2, admission.Unauthenticated);
    }
}
