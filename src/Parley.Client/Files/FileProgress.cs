namespace Parley.Client.Files;

/// <summary>How far a transfer is: bytes of the plaintext done out of the total (a resumed transfer starts above 0).</summary>
public readonly record struct FileProgress(long Done, long Total, long StartedAt)
{
    public double Fraction => Total == 0 ? 1 : (double)Done / Total;
}
