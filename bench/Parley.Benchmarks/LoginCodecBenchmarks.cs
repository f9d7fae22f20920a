using System.Text;
using BenchmarkDotNet.Attributes;
using Parley.Messaging;

namespace Parley.Benchmarks;

/// <summary>
/// The two messages every connection's login costs, through the source-generated serializer (the
/// contract) and through HotPathCodec (the same bytes): a login storm pays each once per connection.
/// </summary>
[MemoryDiagnoser]
public class LoginCodecBenchmarks
{
    private readonly LoginRequest _login = new("storm-4711", null, "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjK", Compact: 1);
    private readonly LoginResult _result = new(true, "storm-4711", null, false, null, 0, "a1b2c3d4e5f60718", 65536, "d-0123456789abcdef", Compact: 1);
    private byte[] _loginBytes = null!;
    private byte[] _resultBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loginBytes = MessengerCodec.EncodeGeneral(_login);
        _resultBytes = MessengerCodec.EncodeGeneral(_result);
        if (!Encoding.UTF8.GetString(MessengerCodec.Encode(_result)).Equals(Encoding.UTF8.GetString(_resultBytes), StringComparison.Ordinal))
        {
            throw new InvalidOperationException("the hot path's bytes differ from the serializer's");
        }
    }

    [Benchmark(Baseline = true)]
    public object DecodeLoginSerializer() => MessengerCodec.DecodeClientGeneral(_loginBytes);

    [Benchmark]
    public object DecodeLoginHotPath() => MessengerCodec.DecodeClient(_loginBytes);

    [Benchmark]
    public byte[] EncodeLoginResultSerializer() => MessengerCodec.EncodeGeneral(_result);

    [Benchmark]
    public byte[] EncodeLoginResultHotPath() => MessengerCodec.Encode(_result);

    [Benchmark]
    public object DecodeLoginResultSerializer() => MessengerCodec.DecodeServerGeneral(_resultBytes);

    [Benchmark]
    public object DecodeLoginResultHotPath() => MessengerCodec.DecodeServer(_resultBytes);

    [Benchmark]
    public byte[] EncodeLoginSerializer() => MessengerCodec.EncodeGeneral(_login);

    [Benchmark]
    public byte[] EncodeLoginHotPath() => MessengerCodec.Encode(_login);
}
