using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
unsafe
{
    string lib = "/root/.nuget/packages/libsodium/1.0.22/runtimes/linux-x64/native/libsodium.so";
    nint h = NativeLibrary.Load(lib);
    ((delegate* unmanaged<int>)NativeLibrary.GetExport(h, "sodium_init"))();
    var beforenm = (delegate* unmanaged<void*, byte*, int>)NativeLibrary.GetExport(h, "crypto_aead_aes256gcm_beforenm");
    var statebytes = (delegate* unmanaged<nuint>)NativeLibrary.GetExport(h, "crypto_aead_aes256gcm_statebytes");
    nuint size = statebytes();
    byte[] key = new byte[32]; RandomNumberGenerator.Fill(key);
    int N = 200000;
    void* fixedState = NativeMemory.AlignedAlloc(size, 16);
    for (int round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        fixed (byte* k = key) for (int i = 0; i < N; i++) beforenm(fixedState, k);
        Console.WriteLine($"beforenm only            {sw.Elapsed.TotalMicroseconds / N:F3} us (state {size} B)");
        sw.Restart();
        for (int i = 0; i < N; i++) { void* m = NativeMemory.AlignedAlloc(size, 16); NativeMemory.Clear(m, size); CryptographicOperations.ZeroMemory(new Span<byte>(m, (int)size)); NativeMemory.AlignedFree(m); }
        Console.WriteLine($"aligned alloc+clear+zero+free {sw.Elapsed.TotalMicroseconds / N:F3} us");
        sw.Restart();
        for (int i = 0; i < N; i++) { using var s = new Secret(size); }
        Console.WriteLine($"SafeHandle secret new+dispose {sw.Elapsed.TotalMicroseconds / N:F3} us");
    }
}
sealed unsafe class Secret : SafeHandle
{
    private readonly nuint _length;
    public Secret(nuint length) : base(IntPtr.Zero, true) { _length = length; void* m = NativeMemory.AlignedAlloc(length, 16); NativeMemory.Clear(m, length); SetHandle((IntPtr)m); }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() { CryptographicOperations.ZeroMemory(new Span<byte>((void*)handle, (int)_length)); NativeMemory.AlignedFree((void*)handle); return true; }
}
