using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
unsafe
{
    string lib = args.Length > 0 ? args[0] : "/root/.nuget/packages/libsodium/1.0.22/runtimes/linux-x64/native/libsodium.so";
    nint h = NativeLibrary.Load(lib);
    var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(h, "sodium_init"); init();
    var expand = (delegate* unmanaged<byte*, nuint, byte*, nuint, byte*, int>)NativeLibrary.GetExport(h, "crypto_kdf_hkdf_sha256_expand");
    var hmac = (delegate* unmanaged<byte*, byte*, ulong, byte*, int>)NativeLibrary.GetExport(h, "crypto_auth_hmacsha256");
    byte[] prk = new byte[32]; RandomNumberGenerator.Fill(prk);
    byte[] info = System.Text.Encoding.ASCII.GetBytes("parley/1 c2s traffic");
    byte[] info1 = [.. info, 1];
    byte[] o = new byte[32];
    int N = 200000;
    for (int round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        fixed (byte* p = prk, i = info, op = o) for (int k = 0; k < N; k++) expand(op, 32, i, (nuint)info.Length, p);
        Console.WriteLine($"sodium hkdf expand    {sw.Elapsed.TotalMicroseconds / N:F2} us");
        sw.Restart();
        fixed (byte* p = prk, i = info1, op = o) for (int k = 0; k < N; k++) hmac(op, i, (ulong)info1.Length, p);
        Console.WriteLine($"sodium hmac one-shot  {sw.Elapsed.TotalMicroseconds / N:F2} us");
        sw.Restart();
        for (int k = 0; k < N; k++) HKDF.Expand(HashAlgorithmName.SHA256, prk, o, info);
        Console.WriteLine($"platform HKDF.Expand  {sw.Elapsed.TotalMicroseconds / N:F2} us");
        sw.Restart();
        for (int k = 0; k < N; k++) HMACSHA256.HashData(prk, info1, o);
        Console.WriteLine($"platform HMAC oneshot {sw.Elapsed.TotalMicroseconds / N:F2} us");
        sw.Restart();
        using (var ih = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, prk))
            for (int k = 0; k < N; k++) { ih.AppendData(info1); ih.GetHashAndReset(o); }
        Console.WriteLine($"platform HMAC reused  {sw.Elapsed.TotalMicroseconds / N:F2} us");
        sw.Restart();
        for (int k = 0; k < N / 10; k++) { using var ih = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, prk); ih.AppendData(info1); ih.GetHashAndReset(o); }
        Console.WriteLine($"platform HMAC create+1 {sw.Elapsed.TotalMicroseconds / (N / 10):F2} us");
        sw.Restart();
        for (int k = 0; k < N; k++) SHA256.HashData(info1, o);
        Console.WriteLine($"platform SHA256 short {sw.Elapsed.TotalMicroseconds / N:F2} us");
    }
}
