using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

/// <summary>
/// Key material in native memory that the garbage collector never moves or copies: zeroed, then
/// freed, when released (by Dispose, or by the finalizer if a key was never disposed).
/// </summary>
internal sealed unsafe class NativeSecret : SafeHandle
{
    private readonly nuint _length;

    internal NativeSecret(int length, int alignment) : base(IntPtr.Zero, ownsHandle: true)
    {
        _length = (nuint)length;
        void* memory = NativeMemory.AlignedAlloc(_length, (nuint)alignment);
        NativeMemory.Clear(memory, _length);
        SetHandle((IntPtr)memory);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal void* Pointer => (void*)handle;

    protected override bool ReleaseHandle()
    {
        // Not NativeMemory.Clear: a clear just before free is a dead store a compiler may drop.
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(new Span<byte>((void*)handle, checked((int)_length)));
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
