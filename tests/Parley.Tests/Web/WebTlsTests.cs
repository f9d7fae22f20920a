using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Web;
using Parley.Tests.Support;
using Parley.Transport.WebSockets;

namespace Parley.Tests.Web;

/// <summary>
/// --web-cert: the page and the WebSocket over TLS with a PEM certificate and key, as an operator
/// without a reverse proxy runs it. The test's client trusts exactly that certificate, nothing else.
/// </summary>
public class WebTlsTests
{
    [Fact]
    public async Task With_a_pem_certificate_the_page_and_the_websocket_are_served_over_tls()
    {
        using TempDirectory temp = new();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest request = new("CN=localhost", key, HashAlgorithmName.SHA256);
        SubjectAlternativeNameBuilder names = new();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(temp.File("web.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(temp.File("web.key"), key.ExportPkcs8PrivateKeyPem());

        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Web = new WebOptions { Port = 0, CertificatePath = temp.File("web.crt"), CertificateKeyPath = temp.File("web.key") },
        });
        string thumbprint = certificate.Thumbprint;
        bool OnlyOurs(X509Certificate2? presented) => presented is not null && presented.Thumbprint == thumbprint;

        using HttpClientHandler handler = new() { ServerCertificateCustomValidationCallback = (_, presented, _, _) => OnlyOurs(presented) };
        using HttpClient https = new(handler) { BaseAddress = new Uri($"https://127.0.0.1:{server.Server.WebPort}/") };
        using HttpResponseMessage page = await https.GetAsync("/").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'self'", string.Join(";", page.Headers.GetValues("Content-Security-Policy")));

        // HTTP/1.1 only, even where TLS could agree HTTP/2: there a WebSocket is a stream of a shared
        // connection, which the gate of silent connections (WebConnectionGate) could not count.
        using HttpRequestMessage asksForHttp2 = new(HttpMethod.Get, "/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => https.SendAsync(asksForHttp2).WithTimeout());
        using HttpRequestMessage either = new(HttpMethod.Get, "/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        using HttpResponseMessage served = await https.SendAsync(either).WithTimeout();
        Assert.Equal(HttpVersion.Version11, served.Version);

        // Plain HTTP on the TLS port gets no page.
        using HttpClient plain = new() { BaseAddress = new Uri($"http://127.0.0.1:{server.Server.WebPort}/") };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("/").WithTimeout());

        using ClientWebSocket socket = new();
        socket.Options.RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 c && OnlyOurs(c);
        socket.Options.SetRequestHeader("Origin", $"https://127.0.0.1:{server.Server.WebPort}");
        await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{server.Server.WebPort}{WebOptions.WebSocketPath}"), CancellationToken.None).WithTimeout();
        Stream stream = new WebSocketFrameStream(socket, WebSocketFrameStream.MaxMessageLengthFor(MessengerLimits.RecordLimitFor(MessengerLimits.DefaultMaxBodyLength)));
        await using ChatClient overTls = await ChatClient.ConnectAsync(stream, server.ClientOptions).WithTimeout();
        Assert.True((await overTls.LoginAsync("tlsuser", "correct horse", null).WithTimeout()).Success);
        Assert.Equal(["tlsuser"], await overTls.ListAsync().WithTimeout());
    }
}
